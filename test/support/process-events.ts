// What the process reports as unhandled while each test of a describe block runs: a test
// that must leave no unhandled rejection or uncaught exception asserts the list is empty.
import { afterEach, beforeEach } from "vitest";

/**
 * Records each `event` the process emits during each test of the calling describe block (the
 * listener is added before each test and removed after it); the list is emptied per test.
 */
export function recordProcessEvents(event: "unhandledRejection" | "uncaughtException"): readonly unknown[] {
  const seen: unknown[] = [];
  const record = (reason: unknown): void => void seen.push(reason);
  beforeEach(() => {
    seen.length = 0;
    process.on(event, record);
  });
  afterEach(() => void process.off(event, record));
  return seen;
}
