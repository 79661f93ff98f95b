// Raw sink: skips the version byte, counts frames, reports when `count` have arrived.
import { createServer } from "node:net";
const count = Number(process.argv[2]);
const server = createServer((s) => {
  let frames = 0, need = -1, pending = Buffer.alloc(0), skippedVersion = false;
  s.on("data", (chunk) => {
    let buf = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    let off = 0;
    if (!skippedVersion) { off = 1; skippedVersion = true; }
    for (;;) {
      if (buf.length - off < 4) break;
      const word = buf.readUInt32BE(off);
      const len = word & 0x7fffffff; // the top bit marks a repeated-head frame
      if (buf.length - off - 4 < len) break;
      off += 4 + len; if (word > 0) frames++; // a length-0 frame is a keepalive
    }
    pending = buf.subarray(off);
    if (frames >= count) { process.send("done"); frames = -1e12; }
  });
  s.on("error", () => {});
});
server.listen(0, "127.0.0.1", () => process.send(server.address().port));
process.on("disconnect", () => process.exit(0));
