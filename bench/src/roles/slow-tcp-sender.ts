// Role: the baseline sender of backpressure/slow-consumer — plain node:net, u32-length
// frames of `size` bytes, ~64 KiB per turn in one write(), waiting for 'drain' whenever
// write() says the buffer is full (as the framed TCP sender does). Samples RSS and the
// sent count until the harness says stop.
import { runBenchChild } from "../proc/child.js";
import { FrameWriter } from "../net/frames.js";
import { connect } from "../net/endpoints.js";
import { Sampler, type Sample } from "../sampler.js";

export interface SlowTcpSenderParams {
  port: number;
  size: number;
  sampleMs: number;
}
export interface SlowTcpSenderResult {
  samples: Sample[];
}

const TURN_BYTES = 64 * 1024;

runBenchChild<SlowTcpSenderParams, null, SlowTcpSenderResult>(async (p, io) => {
  const socket = await connect({ port: p.port });
  socket.on("error", () => {});
  const payload = Buffer.alloc(p.size, 0xab);
  const writer = new FrameWriter(socket);
  let sent = 0;
  const sampler = new Sampler(p.sampleMs, () => sent);
  io.ready(null);
  const pump = (): void => {
    if (socket.destroyed || io.stop.aborted) return;
    do {
      writer.push(payload);
      sent++;
    } while (writer.queuedBytes < TURN_BYTES);
    if (writer.flush()) setImmediate(pump);
    else socket.once("drain", pump);
  };
  pump();
  await new Promise((resolve) => io.stop.addEventListener("abort", resolve, { once: true }));
  socket.destroy();
  return { samples: sampler.stop() };
});
