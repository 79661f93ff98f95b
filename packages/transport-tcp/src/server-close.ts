import type { Server } from "node:net";
import { afterClosingHandles } from "@hopwire/runtime";

/**
 * Closes a server that holds no sockets (one whose listen failed, or that the transport gives
 * up before it listened) and resolves once its handle is released (afterClosingHandles: the
 * server's "close" comes while its handle is still closing).
 */
export async function closeServer(server: Server): Promise<void> {
  // The callback, not a "close" listener: it is called (with ERR_SERVER_NOT_RUNNING) for a
  // server that never listened, whose "close" may already have been emitted.
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await afterClosingHandles();
}
