#!/usr/bin/env node
// The `hopwire` command. A command that finishes sets the exit code; `node` and the
// one-liners keep the process alive until SIGINT/SIGTERM. A command that runs a node runs
// it in a child process with the node's V8 flags (relaunch.ts), this process supervising
// it: so the CLI's modules are loaded only after that check, and only where the command runs.
import { relaunched } from "./relaunch.js";

if (!relaunched()) {
  const { EXIT_BROKEN_PIPE, EXIT_FAILURE } = await import("./errors.js");
  // A reader that went away (`hopwire identity list | head -1`) ends the command quietly, as it
  // ends a program that SIGPIPE kills (Node ignores SIGPIPE, so a write fails with EPIPE
  // instead, and an unhandled one printed a stack trace): exit code 141, 128 + SIGPIPE, what a
  // shell reports for such a program. Any other failure to write output can't be reported either.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on("error", (error: NodeJS.ErrnoException) => process.exit(error.code === "EPIPE" ? EXIT_BROKEN_PIPE : EXIT_FAILURE));
  }
  const { runCli } = await import("./cli.js");
  const code = await runCli(process.argv);
  if (code !== 0) process.exit(code);
}
