import type { Context, Routed, Worker } from "@hopwire/runtime";

/** What a ChunkCounter answers to "count?". */
export interface ChunkCount {
  chunks: number;
  bytes: number;
  /** Every chunk carried the next index in its first 4 bytes (big-endian). */
  inOrder: boolean;
}

/**
 * Counts the byte chunks it is sent and checks their order (each starts with its index,
 * 4 bytes big-endian); answers the string "count?" with a ChunkCount. It runs on a thread
 * of its own, so the node's main thread only routes and decrypts.
 */
export class ChunkCounter implements Worker {
  static readonly module = import.meta.url;
  #count: ChunkCount = { chunks: 0, bytes: 0, inOrder: true };

  async handleMessage(ctx: Context, msg: Routed): Promise<void> {
    const body = msg.body;
    if (body === "count?") return ctx.send(msg.returnRoute, this.#count);
    if (!(body instanceof Uint8Array) || body.length < 4) return;
    const index = new DataView(body.buffer, body.byteOffset, 4).getUint32(0);
    const count = this.#count;
    if (index !== count.chunks) count.inOrder = false;
    count.chunks++;
    count.bytes += body.length;
  }
}
