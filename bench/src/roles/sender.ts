// Role: the sending end of a one-way run. Writes frames of `size` bytes as fast as the
// connection takes them: each event-loop turn queues about TURN_BYTES of frames, writes
// them in one write(), and waits for 'drain' whenever write() says the buffer is full.
// It runs until the receiver closes the connection (or the harness says stop).
import { runBenchChild } from "../proc/child.js";
import { FrameWriter } from "../net/frames.js";
import { closed, connect, type ConnectTarget } from "../net/endpoints.js";

export interface SenderParams extends ConnectTarget {
  size: number;
}
export interface SenderResult {
  sent: number;
}

/** Enough to amortize a write per turn, small enough to stay near socket-buffer size. */
const TURN_BYTES = 64 * 1024;

runBenchChild<SenderParams, null, SenderResult>(async (p, io) => {
  const socket = await connect(p);
  const end = closed(socket);
  io.stop.addEventListener("abort", () => socket.destroy());
  io.ready(null);
  const payload = Buffer.alloc(p.size, 0xab);
  const writer = new FrameWriter(socket);
  let sent = 0;
  const pump = (): void => {
    if (socket.destroyed) return;
    do {
      writer.push(payload);
      sent++;
    } while (writer.queuedBytes < TURN_BYTES);
    if (writer.flush()) setImmediate(pump);
    else socket.once("drain", pump);
  };
  pump();
  await end;
  return { sent };
});
