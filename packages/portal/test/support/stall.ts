// The stalled-client check shared by the direct and the through-the-relay portal tests: one
// client asks for 64 MiB and reads nothing; eight 4 MiB downloads beside it finish intact; the
// stalled response is held back by credit (the server cannot finish writing it) and arrives
// intact, in order, once the client reads.
import { connect } from "node:net";
import { createHash } from "node:crypto";
import { expect } from "vitest";
import type { Outlet } from "@hopwire/portal";
import { bodyOf, download, type BodyServer } from "./http.js";
import { until, within } from "./tcp.js";

const MiB = 1024 * 1024;

export async function checkStalledClientDoesNotSlowOthers(inletPort: number, outlet: Outlet, server: BodyServer): Promise<void> {
  const size = 64 * MiB;
  // The stalled client: asks for 64 MiB and reads nothing.
  const stalled = connect({ host: "127.0.0.1", port: inletPort });
  await new Promise<void>((resolve) => stalled.once("connect", () => resolve()));
  stalled.write(`GET /bytes/${size} HTTP/1.1\r\nHost: x\r\nx-id: stalled\r\nConnection: close\r\n\r\n`);
  await until(() => outlet.activeStreams >= 1 && server.connections() > 0, "the stalled client's stream");
  // Others: 8 downloads of 4 MiB, one after another, while it stalls.
  for (let i = 0; i < 8; i++) {
    const r = await within(download(inletPort, 4 * MiB, `other${i}`), `download ${i} beside the stalled client`, 60_000);
    expect(r.sha256).toBe(bodyOf(4 * MiB).hash);
  }
  // The stalled response is still held back by credit: the server could not hand it all to its socket.
  expect(server.finished.has("stalled")).toBe(false);
  // Reading again: every byte arrives, in order.
  const hash = createHash("sha256");
  let raw = Buffer.alloc(0);
  let headerDone = false;
  let length = 0;
  await within(
    new Promise<void>((resolve, reject) => {
      stalled.on("data", (chunk: Buffer) => {
        if (!headerDone) {
          raw = Buffer.concat([raw, chunk]);
          const end = raw.indexOf("\r\n\r\n");
          if (end < 0) return;
          headerDone = true;
          chunk = raw.subarray(end + 4);
        }
        hash.update(chunk);
        length += chunk.length;
      });
      stalled.on("end", () => resolve());
      stalled.on("error", reject);
    }),
    "the stalled client's body",
    120_000,
  );
  expect(length).toBe(size);
  expect(hash.digest("hex")).toBe(bodyOf(size).hash);
}
