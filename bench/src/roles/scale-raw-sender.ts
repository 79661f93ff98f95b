// Role: the sender of scale/raw-records. ONE plain TCP connection to the sink; 1 KiB messages
// round-robin over `keys.length` channels, each sealed as an AES-256-GCM record of its own
// (net/aead-records.ts) and written as a u32-length frame (net/frames.ts, as the TCP
// baselines write): about TURN_BYTES per event-loop turn, as scale/channels' initiator sends,
// waiting for 'drain' when the socket asks. It runs until the harness says stop; the sink
// ending its window closes the connection first, which is the normal end.
import { runBenchChild } from "../proc/child.js";
import { closed, connect, drainedOrClosed } from "../net/endpoints.js";
import { FrameWriter } from "../net/frames.js";
import { RecordSealer } from "../net/aead-records.js";

export interface ScaleRawSenderParams {
  port: number;
  keys: string[];
  size: number;
}
export interface ScaleRawSenderResult {
  sent: number;
}

const TURN_BYTES = 64 * 1024;

runBenchChild<ScaleRawSenderParams, null, ScaleRawSenderResult>(async (p, io) => {
  const socket = await connect({ port: p.port });
  let gone = false;
  void closed(socket).then(() => (gone = true));
  io.ready(null);
  const sealer = new RecordSealer(p.keys);
  const writer = new FrameWriter(socket);
  const payload = new Uint8Array(p.size).fill(0xab);
  const perTurn = Math.ceil(TURN_BYTES / p.size);
  const channels = p.keys.length;
  let sent = 0;
  let next = 0;
  while (!io.stop.aborted && !gone) {
    for (let i = 0; i < perTurn; i++) {
      writer.push(sealer.seal(next, payload));
      next = next + 1 === channels ? 0 : next + 1;
      sent++;
    }
    if (writer.flush()) await new Promise((resolve) => setImmediate(resolve));
    else await drainedOrClosed(socket);
  }
  if (!io.stop.aborted) await new Promise<void>((resolve) => io.stop.addEventListener("abort", () => resolve(), { once: true }));
  socket.destroy();
  return { sent };
});
