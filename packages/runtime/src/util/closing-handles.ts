/**
 * Resolves once libuv has run the close callbacks of every handle closed before the call: a
 * server's or a socket's handle is then released, no longer listed by
 * `process.getActiveResourcesInfo()`. For a stop that must not resolve while what it closed is
 * still closing.
 *
 * A net.Server's "close" event does not mean that: it comes from a nextTick once the server
 * has no sockets left, while its handle (and that of the socket it lost last) is still closing.
 * A socket's own "close" does: it is emitted from its handle's close callback.
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
