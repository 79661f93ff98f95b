// Role: the sink of scale/tls-streams. A mutual-TLS server (net/mutual-tls.ts) whose every
// connection's u32-length frames are counted in ONE window (MessageWindow, as scale/channels'
// sink counts the messages of all its channels): it opens warmupMs after the first frame and
// lasts durationMs. Then the process ends, closing the connections, which ends the sender.
import { runBenchChild } from "../proc/child.js";
import { FrameReader } from "../net/frames.js";
import { listenMutualTls, type MutualTlsTarget } from "../net/mutual-tls.js";
import { MessageWindow, type WindowCount } from "./scale-common.js";

export interface ScaleTlsSinkParams {
  size: number;
  warmupMs: number;
  /** The window also waits for this many messages (warm-count.ts; 0 in a quick run). */
  warmMessages?: number;
  durationMs: number;
}
export type ScaleTlsSinkReady = MutualTlsTarget;
export interface ScaleTlsSinkResult {
  window: WindowCount;
  /** Connections that delivered at least one frame by the window's end: n when the sender spreads over all of them. */
  streams: number;
}

runBenchChild<ScaleTlsSinkParams, ScaleTlsSinkReady, ScaleTlsSinkResult>(async (p, io) => {
  const window = new MessageWindow(p.size, p.warmupMs, p.durationMs, p.warmMessages ?? 0);
  let streams = 0;
  const listening = await listenMutualTls((socket) => {
    let first = true;
    const reader = new FrameReader(() => {
      if (first) (first = false), streams++;
      window.count();
    });
    socket.on("data", (chunk: Buffer) => reader.push(chunk));
  });
  io.ready(listening.target);
  const stopped = new Promise<undefined>((resolve) => io.stop.addEventListener("abort", () => resolve(undefined), { once: true }));
  const counted = await Promise.race([window.done, stopped]);
  if (!counted) throw new Error("stopped before the sink's window ended");
  return { window: counted, streams };
});
