// Role: baseline/messageport-rtt — one `size`-byte message main thread → worker_thread →
// main thread over the worker's own port, one outstanding: the floor a thread-placed echo
// adds to a TCP round trip (design.md: ~100-160 µs median on this machine kind). Latencies
// from hrtime into the native histogram after the warm-up.
import { Worker } from "node:worker_threads";
import { once } from "node:events";
import { performance } from "node:perf_hooks";
import { runBenchChild } from "../proc/child.js";
import { LatencyRecorder } from "../histogram.js";
import { roundTripMetrics, stillWarming, summarizeRoundTrips } from "../metrics.js";
import type { SoloResult } from "../proc/solo.js";

export interface MessagePortRttParams {
  size: number;
  warmupMs: number;
  /** Round trips made before the window, whatever warmupMs says (see WARM_ROUND_TRIPS). */
  warmRoundTrips?: number;
  durationMs: number;
}

runBenchChild<MessagePortRttParams, null, SoloResult>(async (p) => {
  const worker = new Worker(new URL("./messageport-echo-worker.js", import.meta.url));
  try {
    await once(worker, "online");
    const payload = new Uint8Array(p.size).fill(0xab);
    const pingPong = (): Promise<unknown> => {
      const back = once(worker, "message");
      worker.postMessage(payload);
      return back;
    };
    const warmupEnd = performance.now() + p.warmupMs;
    for (let k = 0; stillWarming(k, p.warmRoundTrips ?? 0, performance.now(), warmupEnd); k++) await pingPong();
    const latency = new LatencyRecorder();
    const start = performance.now();
    let now = start;
    while (now < start + p.durationMs) {
      const t = process.hrtime.bigint();
      await pingPong();
      latency.recordNs(process.hrtime.bigint() - t);
      now = performance.now();
    }
    return { metrics: roundTripMetrics(summarizeRoundTrips(latency, (now - start) / 1e3)) };
  } finally {
    await worker.terminate();
  }
});
