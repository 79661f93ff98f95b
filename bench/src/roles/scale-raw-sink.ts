// Role: the sink of scale/raw-records. Plain TCP; every u32-length frame is an AES-256-GCM
// record of one of `count` channels (net/aead-records.ts), opened with that channel's key and
// counted in one window (MessageWindow, as scale/channels' sink counts). It makes the keys and
// hands them to the sender. A record that does not open fails the case.
import { runBenchChild } from "../proc/child.js";
import { FrameReader } from "../net/frames.js";
import { listen } from "../net/endpoints.js";
import { RecordOpener, recordKeys } from "../net/aead-records.js";
import { MessageWindow, type WindowCount } from "./scale-common.js";

export interface ScaleRawSinkParams {
  count: number;
  size: number;
  warmupMs: number;
  /** The window also waits for this many messages (warm-count.ts; 0 in a quick run). */
  warmMessages?: number;
  durationMs: number;
}
export interface ScaleRawSinkReady {
  port: number;
  /** One key per channel, hex. */
  keys: string[];
}
export interface ScaleRawSinkResult {
  window: WindowCount;
  /** Channels that delivered at least one record by the window's end: n when the sender spreads over all of them. */
  channels: number;
}

runBenchChild<ScaleRawSinkParams, ScaleRawSinkReady, ScaleRawSinkResult>(async (p, io) => {
  const keys = recordKeys(p.count);
  const opener = new RecordOpener(keys);
  const window = new MessageWindow(p.size, p.warmupMs, p.durationMs, p.warmMessages ?? 0);
  let failure: ((error: Error) => void) | undefined;
  const failed = new Promise<never>((_, reject) => (failure = reject));
  const listening = await listen(false, (socket) => {
    const reader = new FrameReader((record) => {
      const plaintext = opener.open(record);
      if (plaintext.length !== p.size) throw new Error(`a record of ${plaintext.length} bytes of payload, expected ${p.size}`);
      window.count();
    });
    socket.on("error", () => {});
    socket.on("data", (chunk: Buffer) => {
      try {
        reader.push(chunk);
      } catch (error) {
        socket.destroy();
        failure!(error as Error);
      }
    });
  });
  io.ready({ port: listening.port, keys });
  const stopped = new Promise<undefined>((resolve) => io.stop.addEventListener("abort", () => resolve(undefined), { once: true }));
  const counted = await Promise.race([window.done, stopped, failed]);
  if (!counted) throw new Error("stopped before the sink's window ended");
  return { window: counted, channels: opener.channelsOpened };
});
