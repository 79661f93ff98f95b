// The portal runs' bulk client (roles/portal-byte-sender.ts) waits for 'drain' thousands of
// times a run: each wait must take its listeners off the socket again. A race of
// once(socket, "drain") and once(socket, "close") left the loser's 'close' and 'error'
// listeners behind at every drain (Node warned MaxListenersExceededWarning on the 11th).
import { fork } from "node:child_process";
import net from "node:net";
import { once } from "node:events";
import { describe, expect, it } from "vitest";

const SENDER = new URL("../dist/roles/portal-byte-sender.js", import.meta.url).pathname;

describe("portal-byte-sender", () => {
  it("waits for drain many times without leaving listeners on its socket", async () => {
    // A reader that takes a little at a time, so that the sender's writes wait for 'drain' often.
    let received = 0;
    const server = net.createServer((socket) => {
      socket.on("data", (chunk: Buffer) => {
        received += chunk.length;
        socket.pause();
        setTimeout(() => socket.resume(), 2);
      });
      socket.on("error", () => {});
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const port = (server.address() as net.AddressInfo).port;
    const child = fork(SENDER, [JSON.stringify({ port })], { env: { ...process.env, HOPWIRE_BENCH_ROLE: "sender" }, stdio: ["ignore", "ignore", "pipe", "ipc"] });
    let stderr = "";
    child.stderr!.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    try {
      const result = new Promise<{ data: { bytes: number } }>((resolve) => child.on("message", (m: { type: string; data: { bytes: number } }) => m.type === "result" && resolve(m)));
      while (received < 64 * 2 ** 20) await new Promise((resolve) => setTimeout(resolve, 20));
      child.send({ type: "stop" });
      expect((await result).data.bytes).toBeGreaterThanOrEqual(received);
      await once(child, "exit");
      expect(stderr).not.toMatch(/MaxListenersExceededWarning/);
    } finally {
      child.kill("SIGKILL");
      server.close();
    }
  }, 30_000);
});
