// Role: the client of a round-trip run. Keeps exactly one frame outstanding, times each
// round trip with hrtime into a native histogram, discards the warm-up, then closes the
// connection (which ends the echo server and any proxy in between). With `keys`, each request
// is an AES-256-GCM record sealed for the echo and each answer a record opened (net/aead-
// records.ts), a record per round trip each way as a secure channel's initiator makes them.
import { performance } from "node:perf_hooks";
import { runBenchChild } from "../proc/child.js";
import { FrameReader } from "../net/frames.js";
import { connect, type ConnectTarget } from "../net/endpoints.js";
import { LatencyRecorder } from "../histogram.js";
import { RecordOpener, RecordSealer } from "../net/aead-records.js";
import { stillWarming, summarizeRoundTrips, type RoundTripSummary } from "../metrics.js";

export interface RttClientParams extends ConnectTarget {
  size: number;
  warmupMs: number;
  /** Round trips made before the window, whatever warmupMs says (see WARM_ROUND_TRIPS). */
  warmRoundTrips?: number;
  durationMs: number;
  /** Seal requests with the first key and open answers with the second (the echo's `sealed` keys). */
  keys?: [string, string];
}
export type RttClientResult = RoundTripSummary & {
  /** Answers opened as records (with `keys`), warm-up included: 0 in a plain run. */
  opened: number;
};

runBenchChild<RttClientParams, null, RttClientResult>(async (p, io) => {
  const socket = await connect(p);
  io.ready(null);
  const plain = Buffer.alloc(4 + p.size, 0xab);
  plain.writeUInt32BE(p.size, 0);
  const sealer = p.keys ? new RecordSealer([p.keys[0]]) : undefined;
  const opener = p.keys ? new RecordOpener([p.keys[1]]) : undefined;
  const payload = plain.subarray(4);
  /** The next request's frame: the same bytes each time, or a fresh record (its own nonce) after its length. */
  const nextFrame = (): Buffer => {
    if (!sealer) return plain;
    const frame = sealer.seal(0, payload, 4);
    frame.writeUInt32BE(frame.length - 4, 0);
    return frame;
  };
  const latency = new LatencyRecorder();
  const warmupEnd = performance.now() + p.warmupMs;
  let measuring = false;
  let warmed = 0;
  let start = 0;
  let sentAt = 0n;
  let opened = 0;

  return new Promise<RttClientResult>((resolve, reject) => {
    const finish = (now: number): void => {
      socket.destroy();
      try {
        resolve({ ...summarizeRoundTrips(latency, (now - start) / 1e3), opened });
      } catch (e) {
        reject(e as Error);
      }
    };
    const send = (): void => {
      sentAt = process.hrtime.bigint(); // the seal is part of the round trip, as it is of a channel's sendAndReceive
      socket.write(nextFrame());
      // The next seal's and open's ciphers, made while the request travels (a channel's spare ciphers).
      sealer?.prepare(0);
      opener?.prepare(0);
    };
    const reader = new FrameReader((answer) => {
      if (opener) {
        opener.open(answer); // throws (failing the run) unless it is the echo's record
        opened++;
      }
      const elapsed = process.hrtime.bigint() - sentAt;
      const now = performance.now();
      if (measuring) {
        latency.recordNs(elapsed);
        if (now >= start + p.durationMs) return finish(now);
      } else if (!stillWarming(++warmed, p.warmRoundTrips ?? 0, now, warmupEnd)) {
        measuring = true;
        start = now;
      }
      send();
    });
    socket.on("data", (chunk: Buffer) => reader.push(chunk));
    socket.on("error", reject);
    socket.on("close", () => reject(new Error("the connection closed before the window ended")));
    io.stop.addEventListener("abort", () => reject(new Error("stopped")));
    send();
  });
});
