// Counting the TCP handles of this process, for tests that a stop releases them before it
// resolves: process.getActiveResourcesInfo() lists a handle until libuv has closed it.
import type { Server, Socket } from "node:net";
import { afterEach, beforeAll } from "vitest";
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

/** What a test opened itself, for `endEachTestsHandles` to end after it. */
export interface OpenedByTest {
  nodes: { stop(): Promise<void> }[];
  clients: Socket[];
  /** Raw servers, with the sockets they accepted when the test keeps them (a silent one never reads its peer's FIN, so they are destroyed). */
  servers: { server: Server; sockets?: Set<Socket> }[];
}

/**
 * For a file of tests that a stop releases TCP handles: after each test, ends what it opened
 * (the lists returned, which the test fills) and waits until the process's TCP handles are
 * back where they were before the file's first test, so that one test's leftovers never count
 * in the next one's figures.
 */
export function endEachTestsHandles(): OpenedByTest {
  const opened: OpenedByTest = { nodes: [], clients: [], servers: [] };
  let baseline: Record<string, number>;
  beforeAll(() => {
    baseline = tcpHandles();
  });
  afterEach(async () => {
    for (const client of opened.clients.splice(0)) client.destroy();
    await Promise.all(opened.nodes.splice(0).map((n) => n.stop()));
    for (const { server, sockets } of opened.servers.splice(0)) {
      for (const socket of sockets ?? []) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
    await tcpHandlesBackTo(baseline);
  });
  return opened;
}
