// Role: the client of a round-trip run. Keeps exactly one frame outstanding, times each
// round trip with hrtime into a native histogram, discards the warm-up, then closes the
// connection (which ends the echo server and any proxy in between).
import { performance } from "node:perf_hooks";
import { runBenchChild } from "../proc/child.js";
import { FrameReader } from "../net/frames.js";
import { connect, type ConnectTarget } from "../net/endpoints.js";
import { LatencyRecorder } from "../histogram.js";
import { stillWarming, summarizeRoundTrips, type RoundTripSummary } from "../metrics.js";

export interface RttClientParams extends ConnectTarget {
  size: number;
  warmupMs: number;
  /** Round trips made before the window, whatever warmupMs says (see WARM_ROUND_TRIPS). */
  warmRoundTrips?: number;
  durationMs: number;
}
export type RttClientResult = RoundTripSummary;

runBenchChild<RttClientParams, null, RttClientResult>(async (p, io) => {
  const socket = await connect(p);
  io.ready(null);
  const frame = Buffer.alloc(4 + p.size, 0xab);
  frame.writeUInt32BE(p.size, 0);
  const latency = new LatencyRecorder();
  const warmupEnd = performance.now() + p.warmupMs;
  let measuring = false;
  let warmed = 0;
  let start = 0;
  let sentAt = 0n;

  return new Promise<RttClientResult>((resolve, reject) => {
    const finish = (now: number): void => {
      socket.destroy();
      try {
        resolve(summarizeRoundTrips(latency, (now - start) / 1e3));
      } catch (e) {
        reject(e as Error);
      }
    };
    const send = (): void => {
      sentAt = process.hrtime.bigint();
      socket.write(frame);
    };
    const reader = new FrameReader(() => {
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
