// Counting the TCP handles of this process, for tests that a stop releases them before it
// resolves: process.getActiveResourcesInfo() lists a handle until libuv has closed it.
import { eventually } from "./eventually.js";

/** The TCP handles that keep this process alive now, by kind. */
export function tcpHandles(): Record<string, number> {
  const counts: Record<string, number> = { TCPServerWrap: 0, TCPSocketWrap: 0 };
  for (const kind of process.getActiveResourcesInfo()) if (kind in counts) counts[kind]!++;
  return counts;
}

/** Waits until the TCP handles are `baseline` again: what a failed test left closing is gone before the next one starts. */
export function tcpHandlesBackTo(baseline: Record<string, number>): Promise<void> {
  return eventually(() => JSON.stringify(tcpHandles()) === JSON.stringify(baseline), 5_000, "the test's TCP handles released");
}
