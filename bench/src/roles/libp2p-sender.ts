// Role: the dialing end of peers/libp2p-throughput. Opens one stream to the listener and
// writes u32-length frames of `size` bytes as fast as the stream takes them, batched as
// the TCP sender batches (about 64 KiB of frames per chunk handed to the stream): Yamux
// pulls the next chunk only when its send window and the socket allow, which is libp2p's
// backpressure. Runs until the listener resets the stream (or the harness says stop).
import { multiaddr } from "@multiformats/multiaddr";
import { runBenchChild } from "../proc/child.js";
import { createNode, PROTOCOL, stopNode } from "./libp2p-node.js";
import type { SenderResult } from "./sender.js";

export interface Libp2pSenderParams {
  addr: string;
  size: number;
}

/** As in sender.ts: enough to amortize a write, small enough to stay near socket-buffer size. */
const TURN_BYTES = 64 * 1024;

runBenchChild<Libp2pSenderParams, null, SenderResult>(async (p, io) => {
  const node = await createNode(false);
  const stream = await node.dialProtocol(multiaddr(p.addr), PROTOCOL);
  io.ready(null);
  const perChunk = Math.ceil(TURN_BYTES / (4 + p.size)); // as many frames as sender.ts queues per turn
  let sent = 0;
  async function* frames(): AsyncGenerator<Uint8Array> {
    while (!io.stop.aborted) {
      // A fresh buffer per chunk: the muxer may still hold the previous one.
      const chunk = Buffer.allocUnsafe(perChunk * (4 + p.size));
      for (let off = 0; off < chunk.length; off += 4 + p.size) {
        chunk.writeUInt32BE(p.size, off);
        chunk.fill(0xab, off + 4, off + 4 + p.size);
      }
      sent += perChunk;
      yield chunk;
    }
  }
  // The listener resets the stream when its window is over, which normally fails the sink.
  // A sink waiting for Yamux send window can miss that (and an abort) and never settle, so
  // the harness's stop ends the wait too.
  const stopped = new Promise<void>((resolve) => io.stop.addEventListener("abort", () => resolve(), { once: true }));
  await Promise.race([stream.sink(frames()).catch(() => {}), stopped]);
  stream.abort(new Error("done"));
  await stopNode(node);
  return { sent };
});
