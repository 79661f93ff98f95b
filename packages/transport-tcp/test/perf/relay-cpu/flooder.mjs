// Raw client: writes version + `count` frames to "forward" => "sink" with a `size`-byte payload, in 64 KiB batches, honouring drain.
import { connect } from "node:net";
import { once } from "node:events";
const [wt, port, count, size] = process.argv.slice(2).map((x, i) => (i === 0 ? x : Number(x)));
const rt = await import(`${wt}/packages/runtime/dist/index.js`);
const { PROTOCOL_VERSION } = await import(`${wt}/packages/transport-tcp/dist/index.js`);
const env = rt.encodeEnvelope(new rt.LocalMessage(rt.route("forward", "sink"), rt.Route.EMPTY, new Uint8Array(size).fill(3)), "network");
const frame = Buffer.alloc(4 + env.length); frame.writeUInt32BE(env.length); Buffer.from(env).copy(frame, 4);
const perBatch = Math.max(1, Math.floor(65536 / frame.length));
const batch = Buffer.concat(Array(perBatch).fill(frame));
const s = connect({ host: "127.0.0.1", port }); s.setNoDelay(true); s.on("data", () => {});
await once(s, "connect");
s.write(Buffer.of(PROTOCOL_VERSION));
let sent = 0;
while (sent < count) {
  const n = Math.min(perBatch, count - sent);
  const ok = s.write(n === perBatch ? batch : batch.subarray(0, n * frame.length));
  sent += n;
  if (!ok) await once(s, "drain");
}
process.send("written");
process.on("disconnect", () => process.exit(0));
