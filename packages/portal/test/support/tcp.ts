// Raw TCP helpers for the portal tests: servers that half-close or reset, and a client that
// records everything it sees. Every wait has a generous deadline and names what it waited for.
import { connect, createServer, type Server, type Socket } from "node:net";
import type { AddressInfo } from "node:net";

export interface RawServer {
  readonly server: Server;
  readonly port: number;
  readonly address: string;
  connections(): number;
  close(): Promise<void>;
}

/** A TCP server (half-open allowed) that hands every connection to `onSocket`. */
export async function startRawServer(onSocket: (socket: Socket) => void): Promise<RawServer> {
  let connections = 0;
  const sockets = new Set<Socket>();
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    connections++;
    sockets.add(socket);
    socket.on("error", () => {});
    socket.on("close", () => sockets.delete(socket));
    onSocket(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    server,
    port,
    address: `127.0.0.1:${port}`,
    connections: () => connections,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A port nothing listens on (bound, then closed). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface RecordingClient {
  readonly socket: Socket;
  /** Everything received so far. */
  received(): Buffer;
  readonly ended: Promise<void>;
  /** Resolves when the socket closed, with the error it saw (if any). */
  readonly closed: Promise<NodeJS.ErrnoException | undefined>;
}

/** Connects (half-open allowed) and records what arrives. */
export async function recordingClient(port: number): Promise<RecordingClient> {
  const socket = connect({ host: "127.0.0.1", port, allowHalfOpen: true });
  const chunks: Buffer[] = [];
  let error: NodeJS.ErrnoException | undefined;
  socket.on("data", (chunk: Buffer) => chunks.push(chunk));
  socket.on("error", (e) => (error = e));
  const ended = new Promise<void>((resolve) => socket.once("end", () => resolve()));
  const closed = new Promise<NodeJS.ErrnoException | undefined>((resolve) => socket.once("close", () => resolve(error)));
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", () => resolve());
    socket.once("error", reject);
  });
  return { socket, received: () => Buffer.concat(chunks), ended, closed };
}

/** Waits until `condition()` holds, checking every 10 ms, or fails naming `what` after `ms`. */
export async function until(condition: () => boolean, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** `promise`, or a failure naming `what` after `ms`. */
export function within<T>(promise: Promise<T>, what: string, ms = 20_000): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms))),
  ]);
}
