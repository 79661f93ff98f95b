// Every test file's setup (vitest.config.ts setupFiles): whatever child processes a test
// started through ./children.js end with it, process group and all, also when it failed or
// timed out before its own cleanup ran.
import { afterEach } from "vitest";
import { killAll } from "./children.js";

afterEach(() => killAll());
