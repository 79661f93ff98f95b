// The framing the TCP baselines share with Hopwire's TCP transport (design.md): a u32
// big-endian length, then the frame. Hopwire's version byte is omitted here: it is one
// byte per connection and the baselines measure steady-state framing only.

export const MAX_FRAME = 16 * 2 ** 20;

/**
 * Queues frames and writes all those queued since the last flush as one buffer, so a
 * sender pays one write() (and one syscall) per batch instead of one per frame — the
 * design brief measured ~830 k vs ~110 k msg/s for 1 KiB frames.
 */
export class FrameWriter {
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;

  constructor(private readonly socket: NodeJS.WritableStream) {}

  push(body: Uint8Array): void {
    this.pending.push(body);
    this.pendingBytes += 4 + body.length;
  }

  get queuedBytes(): number {
    return this.pendingBytes;
  }

  /** Writes the batch; returns write()'s answer: false means wait for 'drain' before pushing more. */
  flush(): boolean {
    if (this.pending.length === 0) return true;
    const out = Buffer.allocUnsafe(this.pendingBytes);
    let off = 0;
    for (const body of this.pending) {
      out.writeUInt32BE(body.length, off);
      out.set(body, off + 4);
      off += 4 + body.length;
    }
    this.pending = [];
    this.pendingBytes = 0;
    return this.socket.write(out);
  }
}

/**
 * Splits a byte stream into frames. A frame inside one chunk is handed out as a view
 * (no copy); chunks are only concatenated once a frame that spans them is complete, so a
 * large frame arriving in many chunks costs one copy, not one per chunk.
 */
export class FrameReader {
  private held: Buffer[] = [];
  private heldBytes = 0;

  constructor(
    private readonly onFrame: (frame: Buffer) => void,
    private readonly maxFrame = MAX_FRAME,
  ) {}

  push(chunk: Buffer): void {
    if (this.heldBytes === 0) return this.parse(chunk);
    this.held.push(chunk);
    this.heldBytes += chunk.length;
    if (this.heldBytes < 4) return;
    if (this.held[0]!.length < 4) this.held = [Buffer.concat(this.held)];
    const need = 4 + this.frameLength(this.held[0]!, 0);
    if (this.heldBytes < need) return;
    const joined = Buffer.concat(this.held, this.heldBytes);
    this.held = [];
    this.heldBytes = 0;
    this.parse(joined);
  }

  private frameLength(buf: Buffer, off: number): number {
    const n = buf.readUInt32BE(off);
    if (n > this.maxFrame) throw new Error(`frame of ${n} bytes exceeds the ${this.maxFrame}-byte limit`);
    return n;
  }

  private parse(buf: Buffer): void {
    let off = 0;
    while (buf.length - off >= 4) {
      const end = off + 4 + this.frameLength(buf, off);
      if (end > buf.length) break;
      this.onFrame(buf.subarray(off + 4, end));
      off = end;
    }
    if (off < buf.length) {
      this.held = [buf.subarray(off)];
      this.heldBytes = buf.length - off;
    }
  }
}
