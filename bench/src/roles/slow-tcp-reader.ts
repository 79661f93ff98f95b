// Role: the baseline receiver of backpressure/slow-consumer — plain node:net, one frame
// (u32 length + 1 KiB) consumed per SLOW_MS. It holds at most HOLD_BYTES of unread frames
// and pauses the socket beyond that, so the kernel's buffers fill and TCP pushes back on
// the sender: the bounded behaviour a stack with end-to-end backpressure reproduces.
import type { Socket } from "node:net";
import { runBenchChild } from "../proc/child.js";
import { FrameReader } from "../net/frames.js";
import { listen } from "../net/endpoints.js";
import { Sampler, type Sample } from "../sampler.js";
import { SLOW_MS } from "./slow-consumer-shape.js";

export interface SlowReaderParams {
  sampleMs: number;
}
export interface SlowReaderReady {
  port: number;
}
export interface SlowReaderResult {
  samples: Sample[];
}

/** Unread frames the reader keeps before it pauses the socket (a small user-space buffer). */
const HOLD_BYTES = 64 * 1024;

runBenchChild<SlowReaderParams, SlowReaderReady, SlowReaderResult>(async (p, io) => {
  let delivered = 0;
  const sockets = new Set<Socket>();
  const server = await listen(false, (socket) => {
    sockets.add(socket);
    const held: Buffer[] = [];
    let heldBytes = 0;
    const reader = new FrameReader((frame) => {
      held.push(frame);
      heldBytes += frame.length;
    });
    socket.on("data", (chunk: Buffer) => {
      reader.push(chunk);
      if (heldBytes > HOLD_BYTES) socket.pause();
    });
    const consume = setInterval(() => {
      const frame = held.shift();
      if (!frame) return;
      heldBytes -= frame.length;
      delivered++;
      if (heldBytes <= HOLD_BYTES && socket.isPaused()) socket.resume();
    }, SLOW_MS);
    socket.on("close", () => clearInterval(consume));
    socket.on("error", () => {});
  });
  const sampler = new Sampler(p.sampleMs, () => delivered);
  io.ready({ port: server.port });
  await new Promise((resolve) => io.stop.addEventListener("abort", resolve, { once: true }));
  for (const s of sockets) s.destroy();
  await new Promise((resolve) => server.server.close(resolve));
  return { samples: sampler.stop() };
});
