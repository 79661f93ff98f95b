// The framing the TCP baselines share with Hopwire's TCP transport (design.md): a u32
// big-endian length, then the frame. Hopwire's version byte is omitted here: it is one
// byte per connection and the baselines measure steady-state framing only.

export const MAX_FRAME = 16 * 2 ** 20;

/** Size of the buffers frame heads (and short payloads) are written into (as Hopwire's transport). */
const ARENA_SIZE = 64 * 1024;
/** Payloads shorter than this are copied next to their head; longer ones go to the socket as views (Hopwire's COPY_THRESHOLD). */
export const COPY_THRESHOLD = 4096;
/** Full arenas kept for reuse once the socket has written them (Hopwire's SPARE_ARENAS). */
const SPARE_ARENAS = 4;

/** What FrameWriter needs of a socket (net.Socket and tls.TLSSocket both are). */
export interface CorkableSocket {
  write(chunk: Uint8Array, callback?: (error?: Error | null) => void): boolean;
  cork(): void;
  uncork(): void;
}

/**
 * Queues frames and hands all those queued since the last flush to the socket corked, so
 * they leave in one writev — the way Hopwire's TCP FrameWriter
 * (packages/transport-tcp/src/frame-writer.ts) writes, so that the baseline differs from it
 * in the stack only: length heads (and payloads under COPY_THRESHOLD) are written into a
 * reused arena, longer payloads are passed as they are (a view, not copied into a fresh
 * buffer per frame, which the first version did and Hopwire does not). A full arena is
 * written into again once the socket's write callback says its bytes are in the kernel, as
 * Hopwire's writer does (fresh arenas fault their pages in as they are first written).
 */
export class FrameWriter {
  #arena: Buffer = Buffer.allocUnsafe(ARENA_SIZE);
  /** [#start, #pos) of the arena is written but not yet queued. */
  #start = 0;
  #pos = 0;
  #queue: Uint8Array[] = [];
  #queuedBytes = 0;
  /** Full arenas the socket may still hold, with the flush that took their last bytes; and reusable ones. */
  readonly #retired: Buffer[] = [];
  readonly #retiredAt: number[] = [];
  readonly #spare: Buffer[] = [];
  #flushes = 0;
  #flushesDone = 0;
  #reuse = true;

  constructor(private readonly socket: CorkableSocket) {}

  push(body: Uint8Array): void {
    const copy = body.length < COPY_THRESHOLD;
    this.#reserve(4 + (copy ? body.length : 0));
    this.#arena.writeUInt32BE(body.length, this.#pos);
    this.#pos += 4;
    if (copy) {
      this.#arena.set(body, this.#pos);
      this.#pos += body.length;
    } else {
      this.#cut();
      this.#queue.push(body);
    }
    this.#queuedBytes += 4 + body.length;
  }

  get queuedBytes(): number {
    return this.#queuedBytes;
  }

  /** Writes the batch; returns write()'s answer: false means wait for 'drain' before pushing more. */
  flush(): boolean {
    this.#cut();
    if (this.#queue.length === 0) return true;
    const queue = this.#queue;
    this.#queue = [];
    this.#queuedBytes = 0;
    this.#flushes++;
    let ok = true;
    this.socket.cork();
    const last = queue.length - 1;
    for (let i = 0; i < last; i++) ok = this.socket.write(queue[i]!);
    ok = this.socket.write(queue[last]!, this.#written);
    this.socket.uncork();
    return ok;
  }

  /** The socket wrote a flush's bytes (callbacks come in order): arenas retired by then can be reused. */
  readonly #written = (error?: Error | null): void => {
    if (error) this.#reuse = false;
    if (!this.#reuse) return;
    this.#flushesDone++;
    while (this.#retired.length > 0 && this.#retiredAt[0]! <= this.#flushesDone) {
      const arena = this.#retired.shift()!;
      this.#retiredAt.shift();
      if (this.#spare.length < SPARE_ARENAS) this.#spare.push(arena);
    }
  };

  /** Moves the arena's written bytes to the queue (a view: the arena is not reused under it). */
  #cut(): void {
    if (this.#pos === this.#start) return;
    this.#queue.push(this.#arena.subarray(this.#start, this.#pos));
    this.#start = this.#pos;
  }

  #reserve(n: number): void {
    if (this.#pos + n <= this.#arena.length) return;
    this.#cut();
    if (this.#reuse && this.#arena.length === ARENA_SIZE) {
      this.#retired.push(this.#arena);
      this.#retiredAt.push(this.#flushes + 1); // its last bytes leave with the next flush at the latest
    }
    this.#arena = (n <= ARENA_SIZE ? this.#spare.pop() : undefined) ?? Buffer.allocUnsafe(Math.max(ARENA_SIZE, n));
    this.#start = this.#pos = 0;
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
