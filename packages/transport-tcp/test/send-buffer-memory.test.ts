import { describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

// A connection counts the bytes it queues (against its bounds and the transport's
// sendBufferBudget), but a payload passed on as a view keeps alive the whole socket read it came
// in: relayed 4 KiB payloads, each in a 64 KiB read beside other frames, made the memory held
// ≈ 15 times the count. While the socket is blocked, one that fills under a quarter of its read is
// copied instead.
describe("what a blocked connection holds is what it counts", () => {
  it("relayed 4 KiB payloads, each read beside a 60 KiB frame for nobody, to a peer that reads nothing: memory held within 6x the count (15x before)", () => {
    // What stays reachable shows only after a collection: a child process with --expose-gc.
    const script = `
      import { createServer, connect } from "node:net";
      import { once } from "node:events";
      import { node, LocalMessage, Route, route, encodeEnvelope } from "@hopwire/runtime";
      import { createTcpTransport, PROTOCOL_VERSION } from "@hopwire/transport-tcp";
      const hello = Buffer.of(PROTOCOL_VERSION, 0, 0, 0, 0);
      const frame = (envelope) => { const head = Buffer.alloc(4); head.writeUInt32BE(envelope.length); return Buffer.concat([head, Buffer.from(envelope)]); };
      const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
      const big = 512 * 1024 * 1024;
      const n = await node({ name: "middle", warnings: false });
      const tcp = await createTcpTransport(n, { sendHighWaterMark: big, maxSendBufferBytes: big, sendBufferBudget: big });
      const server = createServer({ pauseOnConnect: true }, (s) => { s.on("error", () => {}); s.write(hello); });
      server.listen(0, "127.0.0.1");
      await once(server, "listening");
      const y = await tcp.connect("127.0.0.1:" + server.address().port);
      const listener = await tcp.listen("127.0.0.1:0");
      n.flowControls.addConsumer(y.address, listener.flowControlId);
      const x = connect({ host: "127.0.0.1", port: Number(listener.address.split(":").pop()) });
      x.on("error", () => {});
      x.on("data", () => {});
      await once(x, "connect");
      x.write(hello);
      const toY = frame(encodeEnvelope(new LocalMessage(route(y, "sink"), Route.EMPTY, Buffer.alloc(4200)), "network"));
      const junk = frame(encodeEnvelope(new LocalMessage(route("nobody-here"), Route.EMPTY, Buffer.alloc(60 * 1024)), "network"));
      globalThis.gc();
      const before = process.memoryUsage().arrayBuffers;
      for (let i = 0; i < 3000; i++) {
        x.write(toY);
        if (!x.write(junk)) await once(x, "drain");
        if (i % 50 === 0) await pause(2);
      }
      // Until everything has arrived: the count stops growing.
      let last = -1, still = 0;
      while (still < 10) { await pause(50); const now = y.bufferedBytes; still = now === last ? still + 1 : 0; last = now; }
      globalThis.gc();
      const grew = process.memoryUsage().arrayBuffers - before;
      console.log(JSON.stringify({ counted: y.bufferedBytes, grew }));
      process.exit(0);`;
    const out = execFileSync(process.execPath, ["--expose-gc", "--input-type=module", "-e", script], {
      encoding: "utf8",
      cwd: fileURLToPath(new URL(".", import.meta.url)),
      timeout: 120_000,
      killSignal: "SIGKILL",
    });
    const { counted, grew } = JSON.parse(out.trim().split("\n").pop()!) as { counted: number; grew: number };
    // Most of the 12 MiB relayed waits in this process (the peer's kernel buffers take a few MiB).
    expect(counted).toBeGreaterThan(4 * 1024 * 1024);
    // A payload under a quarter of its read is copied; one kept as a view holds at most four times its bytes.
    expect(grew, `counted ${counted}, array buffers grew ${grew}`).toBeLessThan(6 * counted);
  }, 150_000);
});
