// Role: the TCP service of the connection-setup runs. Every connection's first 8 bytes are
// the client's wall-clock stamp (performance.timeOrigin + now(), ms, float64) taken just
// before it called connect; the target subtracts it from its own clock when they arrive
// (both processes read the same system clock) and closes the connection. The window opens
// warmupMs after the first connection and lasts durationMs.
import { performance } from "node:perf_hooks";
import { runBenchChild } from "../proc/child.js";
import { listen } from "../net/endpoints.js";
import { LatencyRecorder } from "../histogram.js";
import { summarizeRoundTrips, type RoundTripSummary } from "../metrics.js";

export interface SetupTargetParams {
  warmupMs: number;
  durationMs: number;
}

const wallClock = (): number => performance.timeOrigin + performance.now();

runBenchChild<SetupTargetParams, { port: number }, RoundTripSummary>(async (p, io) => {
  const latency = new LatencyRecorder();
  let first = -1;
  let opened = -1;
  let resolveDone!: (r: RoundTripSummary) => void;
  let rejectDone!: (e: Error) => void;
  const done = new Promise<RoundTripSummary>((res, rej) => ((resolveDone = res), (rejectDone = rej)));
  const listening = await listen(false, (socket) => {
    let head = Buffer.alloc(0);
    socket.on("error", () => {});
    socket.on("data", (chunk: Buffer) => {
      const arrived = wallClock();
      head = Buffer.concat([head, chunk]);
      if (head.length < 8) return;
      const now = performance.now();
      if (first < 0) first = now;
      if (opened < 0 && now - first >= p.warmupMs) opened = now;
      if (opened >= 0) latency.recordNs(BigInt(Math.max(0, Math.round((arrived - head.readDoubleBE(0)) * 1e6))));
      socket.end();
      if (opened >= 0 && now - opened >= p.durationMs) {
        try {
          resolveDone(summarizeRoundTrips(latency, (now - opened) / 1e3));
        } catch (e) {
          rejectDone(e as Error);
        }
      }
    });
  });
  io.stop.addEventListener("abort", () => rejectDone(new Error("stopped")));
  io.ready({ port: listening.port });
  try {
    return await done;
  } finally {
    listening.server.close();
  }
});
