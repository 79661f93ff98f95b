#!/usr/bin/env node
// The `hopwire` command. A command that finishes sets the exit code; `node` and the
// one-liners keep the process alive until SIGINT/SIGTERM.
import { runCli } from "./cli.js";

const code = await runCli(process.argv);
if (code !== 0) process.exit(code);
