import type { Server } from "node:net";

/**
 * Resolves once libuv has run the close callbacks of every handle closed before the call, a
 * listening server's included. A net.Server's "close" event does not mean that: it comes from
 * a nextTick once the server has no sockets left, while its handle is still closing, and until
 * the close callbacks run, `process.getActiveResourcesInfo()` still lists the TCPServerWrap (and
 * an accepted socket the server destroyed last, its TCPSocketWrap).
 *
 * Two immediates, one queued from the other: libuv runs a turn's close callbacks after its
 * check phase (the immediates), and a handle closed during the close phase itself waits for the
 * next turn's. The first immediate runs in the check phase of this turn, or of the next one
 * when called from the check or the close phase; the second, queued while immediates run, runs
 * in the turn after that, past the close callbacks the first may have preceded.
 */
export function afterClosingHandles(): Promise<void> {
  return new Promise((resolve) => setImmediate(() => setImmediate(resolve)));
}

/**
 * Closes a server that holds no sockets (one whose listen failed, or that the transport gives
 * up before it listened) and resolves once its handle is released (afterClosingHandles).
 */
export async function closeServer(server: Server): Promise<void> {
  // The callback, not a "close" listener: it is called (with ERR_SERVER_NOT_RUNNING) for a
  // server that never listened, whose "close" may already have been emitted.
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await afterClosingHandles();
}
