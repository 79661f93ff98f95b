import type { Socket } from "node:net";

/**
 * The sockets of an inlet or outlet that have not closed yet, to wait for as it stops. A
 * socket's "close" is emitted from its handle's close callback: once every socket's has come,
 * none is listed by `process.getActiveResourcesInfo()` any more (a destroyed or reset socket is
 * listed until then, and a socket whose FIN is queued is reset only once it went: resetSocket).
 */
export class OpenSockets {
  readonly #closed = new Map<Socket, Promise<void>>();

  /** Holds `socket` until its "close". */
  add(socket: Socket): void {
    const closed = new Promise<void>((resolve) =>
      socket.once("close", () => {
        this.#closed.delete(socket);
        resolve();
      }),
    );
    this.#closed.set(socket, closed);
  }

  /** Resolves once every socket held now has closed. */
  allClosed(): Promise<void> {
    return Promise.all(this.#closed.values()).then(() => undefined);
  }
}
