// Role: the receiving end of a one-way run. Accepts one connection, parses frames, and
// times itself: the window opens warmupMs after the first byte and lasts durationMs,
// sampled per received chunk. Counting at the receiver measures delivered messages, not
// messages merely queued by the sender.
import { performance } from "node:perf_hooks";
import { runBenchChild } from "../proc/child.js";
import { FrameReader } from "../net/frames.js";
import { closed, listen, type Listening } from "../net/endpoints.js";

export interface SinkParams {
  tls: boolean;
  warmupMs: number;
  durationMs: number;
}
export type SinkReady = Pick<Listening, "port" | "certPem">;
export interface SinkResult {
  messages: number;
  payloadBytes: number;
  seconds: number;
}

runBenchChild<SinkParams, SinkReady, SinkResult>(async (p, io) => {
  let resolveDone!: (r: SinkResult) => void;
  let rejectDone!: (e: Error) => void;
  const done = new Promise<SinkResult>((res, rej) => ((resolveDone = res), (rejectDone = rej)));

  const listening = await listen(p.tls, (socket) => {
    let messages = 0;
    let payloadBytes = 0;
    const reader = new FrameReader((frame) => {
      messages++;
      payloadBytes += frame.length;
    });
    let first = -1;
    let start = -1;
    let m0 = 0;
    let b0 = 0;
    socket.on("data", (chunk: Buffer) => {
      const now = performance.now();
      if (first < 0) first = now;
      if (start < 0 && now >= first + p.warmupMs) {
        start = now;
        m0 = messages;
        b0 = payloadBytes;
      } else if (start >= 0 && now >= start + p.durationMs) {
        resolveDone({ messages: messages - m0, payloadBytes: payloadBytes - b0, seconds: (now - start) / 1e3 });
        socket.destroy(); // the sender sees the close and finishes
        return;
      }
      try {
        reader.push(chunk);
      } catch (e) {
        rejectDone(e as Error);
        socket.destroy();
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
