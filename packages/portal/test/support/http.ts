// A real HTTP server for the portal tests: GET /bytes/<n> answers n random bytes with their
// SHA-256 in `x-sha256`; POST /hash answers the SHA-256 of the uploaded body. It counts the
// TCP connections it accepted and remembers each response's `finish`.
import { createHash, randomBytes } from "node:crypto";
import { createServer, get, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";

export interface BodyServer {
  readonly server: Server;
  readonly port: number;
  readonly address: string;
  /** Connections accepted so far. */
  connections(): number;
  /** Responses whose last byte went to the kernel, by request id (the `x-id` header). */
  readonly finished: Set<string>;
  close(): Promise<void>;
}

export function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

const bodies = new Map<number, { bytes: Buffer; hash: string }>();

/** The same random body for every request of one size (made once: 64 MiB takes a moment). */
export function bodyOf(size: number): { bytes: Buffer; hash: string } {
  let body = bodies.get(size);
  if (!body) {
    const bytes = randomBytes(size);
    bodies.set(size, (body = { bytes, hash: sha256(bytes) }));
  }
  return body;
}

export async function startBodyServer(): Promise<BodyServer> {
  let connections = 0;
  const sockets = new Set<Socket>();
  const finished = new Set<string>();
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const id = String(req.headers["x-id"] ?? "");
    res.on("finish", () => finished.add(id));
    const m = req.url?.match(/^\/bytes\/(\d+)$/);
    if (req.method === "GET" && m) {
      const body = bodyOf(Number(m[1]));
      res.writeHead(200, { "content-length": body.bytes.length, "x-sha256": body.hash });
      res.end(body.bytes);
      return;
    }
    if (req.method === "POST" && req.url === "/hash") {
      const hash = createHash("sha256");
      let length = 0;
      req.on("data", (chunk: Buffer) => {
        hash.update(chunk);
        length += chunk.length;
      });
      req.on("end", () => res.end(JSON.stringify({ length, sha256: hash.digest("hex") })));
      return;
    }
    res.writeHead(404).end();
  });
  server.on("connection", (socket: Socket) => {
    connections++;
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    server,
    port,
    address: `127.0.0.1:${port}`,
    connections: () => connections,
    finished,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** GET /bytes/<size> on its own connection (no agent); resolves to the body's hash and the server's. */
export function download(port: number, size: number, id = ""): Promise<{ length: number; sha256: string; expected: string }> {
  return new Promise((resolve, reject) => {
    const req = get({ host: "127.0.0.1", port, path: `/bytes/${size}`, agent: false, headers: { "x-id": id } }, (res) => {
      const hash = createHash("sha256");
      let length = 0;
      res.on("data", (chunk: Buffer) => {
        hash.update(chunk);
        length += chunk.length;
      });
      res.on("end", () => resolve({ length, sha256: hash.digest("hex"), expected: String(res.headers["x-sha256"]) }));
      res.on("error", reject);
    });
    req.on("error", reject);
  });
}
