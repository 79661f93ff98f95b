// Role: the receiving end of a one-way run. Accepts one connection, parses frames, and
// times itself: the window opens warmupMs after the first byte and lasts durationMs,
// sampled per received chunk. Counting at the receiver measures delivered messages, not
// messages merely queued by the sender.
import { runBenchChild } from "../proc/child.js";
import { FrameWindow, type SinkResult } from "../net/frame-window.js";
import { BulkCount } from "../net/bulk-count.js";
import { closed, listen, type Listening } from "../net/endpoints.js";

export interface SinkParams {
  tls: boolean;
  warmupMs: number;
  durationMs: number;
  /** Frames that must have arrived before the window opens (warm-count.ts). */
  warmMessages?: number;
  /** Bulk mode: count from the first byte until this much payload has arrived (no time window). */
  totalBytes?: number;
}
export type SinkReady = Pick<Listening, "port" | "certPem">;
export type { SinkResult };

runBenchChild<SinkParams, SinkReady, SinkResult>(async (p, io) => {
  let resolveDone!: (r: SinkResult) => void;
  let rejectDone!: (e: Error) => void;
  const done = new Promise<SinkResult>((res, rej) => ((resolveDone = res), (rejectDone = rej)));

  const listening = await listen(p.tls, (socket) => {
    const window = p.totalBytes ? new BulkCount(p.totalBytes) : new FrameWindow(p.warmupMs, p.durationMs, p.warmMessages ?? 0);
    socket.on("data", (chunk: Buffer) => {
      let result: SinkResult | undefined;
      try {
        result = window.push(chunk);
      } catch (e) {
        rejectDone(e as Error);
        socket.destroy();
        return;
      }
      if (result) {
        resolveDone(result);
        socket.destroy(); // the sender sees the close and finishes
      }
    });
    void closed(socket).then(() => rejectDone(new Error("the sender closed before the window ended")));
  });
  io.stop.addEventListener("abort", () => rejectDone(new Error("stopped")));
  io.ready({ port: listening.port, certPem: listening.certPem });
  try {
    return await done;
  } finally {
    listening.server.close();
  }
});
