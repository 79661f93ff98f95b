import type { Socket } from "node:net";
import { performance } from "node:perf_hooks";
import {
  Route,
  atTurnEnd,
  bytesBodyLength,
  copyBytes,
  envelopeHeadBound,
  readU32BE,
  REPEATED_HEAD_PAYLOADS,
  repeatedHeadWord,
  writeBytesBody,
  writeEnvelopeHead,
  writeU32BE,
  type LocalMessage,
  type MessageRun,
} from "@hopwire/runtime";
import { FrameTooLargeError } from "./errors.js";
import { FRAME_HEADER_LENGTH, MAX_FRAME_LENGTH, PROTOCOL_VERSION } from "./protocol.js";

/** Size of the buffers that frame heads (and small payloads) are written into. */
const ARENA_SIZE = 64 * 1024;

/**
 * The longest a frame waits for the end of its turn while its sender computes the next ones
 * (ms). A turn that works between frames — a listener answering the handshakes of one socket
 * read at ~0.15-0.3 ms each, an initiator answering their replies — hands its frames on as it
 * goes, so that the peer starts on the first answer while the rest are computed; held to the
 * end of the turn, they all left together and the two sides took turns at being idle
 * (secure-channel/handshakes, 8 in flight: ~900 → ~1,200-1,400 handshakes/s).
 */
export const MAX_HOLD_MS = 0.1;

/**
 * The sender's work per frame, on average over the batch (ms), below which frames are not
 * flushed early: a stream, a relay's burst, the records of a thousand channels sealed in
 * one turn (~12 µs each) keep coalescing into one write at the end of the turn, where a write
 * every few frames would cost more (each write wakes the peer) than it could save.
 */
const HOLD_MIN_WORK_PER_FRAME_MS = 0.025;

/**
 * Frames of a batch timed against the two bounds above; later ones wait for the end of the
 * turn. Only the 1st, 2nd, 3rd, 5th, 9th, 17th and 33rd read the clock (isTimedFrame).
 */
const HOLD_TIMED_FRAMES = 64;

/**
 * Whether the `n`th frame of a batch reads the clock: the first (the batch's start), then
 * those after 1, 2, 4, 8… frames. A clock read costs ~44 ns on this VM, where a 64-byte
 * stream's sender spends ~200 ns per message: every frame read it before. A batch that
 * should be flushed early still is, at its 2nd frame (a listener's answers to handshakes)
 * or at most twice as many frames late.
 */
function isTimedFrame(n: number): boolean {
  return n <= HOLD_TIMED_FRAMES && (n === 1 || ((n - 1) & (n - 2)) === 0);
}

/** A batch past this many bytes is never flushed early: it is a bulk transfer, and one writev at the end of the turn suits it. */
const HOLD_MAX_BYTES = 64 * 1024;

/**
 * The least share of a read's memory (its ArrayBuffer) that a run of frames from it must
 * fill to be written as a view of it rather than copied (see FrameWriter.#endRun).
 */
const RUN_VIEW_MIN_SHARE = 0.5;

/**
 * The least share of its read's memory a single payload of COPY_THRESHOLD or more must fill to be
 * queued as a view while the socket is blocked (see keepsMoreThanItself). A quarter, not half as
 * for runs: a relayed 16 KiB stream's payloads are each a quarter of a 64 KiB read, and copying
 * them read 43 / 50 / 47 k msg/s against 50 / 49 / 53 k without (tcp/relay-throughput at 16
 * KiB, three alternating pairs); a read's other quarters usually go the same way, so together
 * they keep little more than they count. What a view kept while blocked holds: at most four
 * times its bytes.
 */
const VIEW_MIN_SHARE_WHILE_BLOCKED = 0.25;

/**
 * Arenas kept for reuse once the socket is done with them (see #recycle), beyond those that
 * cover the connection's high-water mark: a sender that keeps its connection at the mark
 * fills that many arenas between two 'drain's, and every one not kept was a fresh one
 * whose pages fault in (at 16 KiB, 4 spares in all: 0.5-0.7 faults and 24-29 µs of sender
 * CPU per message; 20: 0.17-0.25 and 15-19 µs). Dropped once a while passes in which none
 * was taken (trimSpares).
 */
const SPARE_ARENAS_OVER_MARK = 4;

/**
 * A lent payload (FrameWriter.enqueue) up to this long is copied into the arena; a longer one
 * into a buffer of its own, so that an arena is never sized to one large payload.
 */
const LENT_IN_ARENA_MAX = 32 * 1024;

/**
 * A longer lent payload, up to this long, is copied into a buffer of a power-of-two size (64 KiB
 * and up) that is reused once the socket is done with it, as arenas are (see #recycle): a fresh
 * buffer per 64 KiB message faulted its pages in, and that copy was 48 % of a 64 KiB sender's
 * profile (tcp/one-hop-send, session 33). Longer ones get a buffer of their own.
 */
const LENT_REUSED_MAX = 256 * 1024;

/** The size of the reused buffer a lent payload of `n` bytes is copied into. */
function lentBufferSize(n: number): number {
  let size = ARENA_SIZE;
  while (size < n) size *= 2;
  return size;
}

/**
 * Payloads shorter than this are copied next to their head; longer ones are handed to the
 * socket as they are (a view, no copy). A copy costs less than a separate write: each
 * costs the stream's bookkeeping (a Buffer made of a Uint8Array, an entry in the corked
 * list, a view of the arena between two payloads) and an iovec entry, against ~50 ns to
 * copy 1 KiB into an arena that is reused (see #recycle). Was 1 KiB: a 1 KiB stream made
 * two writes a message.
 */
export const COPY_THRESHOLD = 4096;

/**
 * Writes frames to a socket in batches. The first frame for an idle socket is written as
 * soon as its caller's synchronous work and the microtasks already queued are done (still
 * in the caller's turn, before any I/O); frames queued after that during the same turn of
 * the event loop are handed to the socket together, corked, so they leave in one writev
 * (or in several, when the sender computes between them: MAX_HOLD_MS). When the socket
 * says stop (write() returned false) nothing more is handed to it until 'drain'; frames
 * keep queueing here and the connection bounds how many (see TcpConnection).
 */
export class FrameWriter {
  #arena: Buffer = Buffer.allocUnsafe(ARENA_SIZE);
  /** [#start, #pos) of the arena is written but not yet queued. */
  #start = 0;
  #pos = 0;
  #queue: Uint8Array[] = [];
  #queuedBytes = 0;
  /**
   * Full arenas whose bytes the socket may still hold, oldest first, each with the number of
   * the flush that took its last bytes; and arenas the socket is done with, written into
   * again instead of new ones. A fresh arena's pages fault in as it is first written (on
   * this VM a fault costs about as much as a small message): reused ones are already in.
   */
  readonly #retired: Buffer[] = [];
  readonly #retiredAt: number[] = [];
  readonly #spare: Buffer[] = [];
  /**
   * Spare buffers larger than an arena, for long lent payloads (LENT_REUSED_MAX; a 64 KiB one
   * takes an arena), retired as arenas are; their bytes bounded by the high-water mark.
   */
  readonly #lentSpare: Buffer[] = [];
  #lentSpareBytes = 0;
  /** Flushes that handed bytes to the socket, and how many of their write callbacks came (in order). */
  #flushes = 0;
  #flushesDone = 0;
  /** False once a write failed: callbacks may then be missing, so nothing is reused. */
  #reuse = true;
  #blocked = false;
  #scheduled = false;
  #closed = false;
  /** Frames queued since the last flush, and when the first of them was (performance.now()). */
  #heldFrames = 0;
  #heldSince = 0;
  /**
   * The routes of the last frame that carried a head (its onward route's first hop is this
   * connection, not written): the peer's reader remembers them, so a frame with the same
   * routes is written as a repeated-head frame (REPEATED_HEAD_FRAME), its payload alone.
   */
  #lastOnward: Route | undefined;
  #lastReturn: Route = Route.EMPTY;
  /**
   * Short repeated-head frames passed on exactly as they arrived: bytes [#runStart, #runEnd)
   * of #runSource (a socket read of another connection), not yet written. A relay's stream
   * arrives as repeated-head frames, and each one it forwards has the same length word and
   * payload, so consecutive ones are one contiguous piece of the read: handed on in one
   * piece when something else is written or the batch goes (#endRun), not payload by payload.
   */
  #runSource: Uint8Array | undefined;
  #runStart = 0;
  #runEnd = 0;
  /** When bytes were last handed to the socket (Date.now()): the keepalive clock. */
  lastWriteAt = Date.now();
  /** Messages (not keepalives) queued so far, and how many of them the socket has been handed. */
  framesOut = 0;
  #framesHandedOut = 0;
  /** When the socket was last handed a message, not a keepalive (Date.now()): the connection's idle clock. */
  lastMessageWriteAt = Date.now();

  /** How many arenas #recycle keeps for reuse, and whether one was taken since the last trimSpares. */
  readonly #maxSpares: number;
  readonly #maxLentSpareBytes: number;
  #spareTaken = false;

  constructor(
    readonly socket: Socket,
    /** Called after a flush left the socket able to take more (the connection checks its bounds). */
    readonly onFlushed: () => void,
    /** MAX_HOLD_MS, or Infinity to hold every frame to the end of its turn (tests of exact batching). */
    readonly maxHoldMs: number = MAX_HOLD_MS,
    /** The connection's sendHighWaterMark: what a busy sender keeps queued, which the spare arenas cover. */
    highWaterMark = 1024 * 1024,
    /** Called after each flush that handed the socket bytes (Node.afterHandOff: busy polling for the answer). */
    readonly onWritten?: () => void,
  ) {
    this.#maxSpares = Math.ceil(highWaterMark / ARENA_SIZE) + SPARE_ARENAS_OVER_MARK;
    this.#maxLentSpareBytes = highWaterMark;
  }

  /** Arenas kept for reuse now (a test's view of trimSpares). */
  get spareArenas(): number {
    return this.#spare.length;
  }

  /** Buffers for long lent payloads kept for reuse now (a test's view of #lentCopy). */
  get spareLentBuffers(): number {
    return this.#lentSpare.length;
  }

  /**
   * Drops the spare arenas if none was taken since the last call (the connection's liveness
   * timer calls it every few seconds): a busy spell's memory is not kept once it is over.
   */
  trimSpares(): void {
    if (!this.#spareTaken) {
      this.#spare.length = 0;
      this.#lentSpare.length = 0;
      this.#lentSpareBytes = 0;
    }
    this.#spareTaken = false;
  }

  /** Bytes queued here and in the socket's own buffer. */
  get bufferedBytes(): number {
    return this.#queuedBytes + (this.#pos - this.#start) + (this.#runEnd - this.#runStart) + this.socket.writableLength;
  }

  /** Whether messages are queued here that the socket has not been handed yet (e.g. while it waits for 'drain'). */
  get messagesWaiting(): boolean {
    return this.framesOut !== this.#framesHandedOut;
  }

  /** Whether the socket asked us to wait for 'drain'. */
  get blocked(): boolean {
    return this.#blocked;
  }

  writeVersion(): void {
    this.#endRun();
    this.#reserve(1);
    this.#arena[this.#pos++] = PROTOCOL_VERSION;
    this.#schedule();
  }

  /** Queues a keepalive: a frame of length 0 (KEEPALIVE_FRAME). */
  writeKeepalive(): void {
    if (this.#closed) return;
    this.#endRun();
    this.#reserve(FRAME_HEADER_LENGTH);
    this.#arena.writeUInt32BE(0, this.#pos);
    this.#pos += FRAME_HEADER_LENGTH;
    this.#schedule();
  }

  /**
   * Queues one message as a frame: its onward route without its first hop (this
   * connection), its return route, its payload. Throws FrameTooLargeError (nothing queued)
   * if the envelope would exceed the maximum frame length. `lent`: the payload's bytes are
   * the caller's only until this returns (a bytes body lent by a send), so all of them are
   * copied, however long: into the arena, or past LENT_IN_ARENA_MAX into a buffer of its own.
   */
  enqueue(message: LocalMessage, lent = false): void {
    const onward = message.onwardRoute;
    const returnRoute = message.returnRoute;
    const parts = message.parts;
    const payloadLength = message.payloadLength;
    if (payloadLength > MAX_FRAME_LENGTH) throw tooLarge(payloadLength);
    // A payload in parts is written part by part (never joined): see #writeParts. A lent one
    // is copied whole, into an arena that is reused: cheaper than the fresh buffer a copy at
    // the send would take (its pages fault in; docs/architecture.md, "A bytes body is copied once").
    const copy =
      (lent && payloadLength <= LENT_IN_ARENA_MAX) ||
      (parts === undefined && (payloadLength < COPY_THRESHOLD || (this.#blocked && !lent && keepsMoreThanItself(message, payloadLength))));
    let headEnd: number;
    const repeatsHead = this.#repeatsHead(onward, returnRoute);
    // A run keeps its frames where they lie until it is written: never a lent payload's.
    if (repeatsHead && copy && !lent && this.#continueRun(message, payloadLength)) {
      this.framesOut++;
      this.#schedule();
      return;
    }
    this.#endRun();
    if (repeatsHead) {
      this.#reserve(FRAME_HEADER_LENGTH + (copy ? payloadLength : 0));
      headEnd = this.#pos + FRAME_HEADER_LENGTH;
      writeU32BE(this.#arena, this.#pos, repeatedHeadWord(payloadLength));
    } else {
      // The onward route without its first hop: this connection.
      this.#reserve(FRAME_HEADER_LENGTH + envelopeHeadBound(message, "network", 1) + (copy ? payloadLength : 0));
      const frameStart = this.#pos;
      headEnd = writeEnvelopeHead(this.#arena, frameStart + FRAME_HEADER_LENGTH, message, "network", 1);
      const envelopeLength = headEnd - frameStart - FRAME_HEADER_LENGTH + payloadLength;
      if (envelopeLength > MAX_FRAME_LENGTH) throw tooLarge(envelopeLength);
      writeU32BE(this.#arena, frameStart, envelopeLength);
      // Only now, with the frame certain to be written: the peer's reader follows the frames it gets.
      this.#lastOnward = onward;
      this.#lastReturn = returnRoute;
    }
    this.framesOut++;
    const arena = this.#arena;
    if (copy) {
      // Room for it was reserved with the head. From wherever the message holds it (a received
      // frame's range: no view made; a lent body's parts).
      message.copyPayloadTo(arena, headEnd);
      this.#pos = headEnd + payloadLength;
    } else if (parts !== undefined && !lent) {
      this.#pos = headEnd;
      this.#writeParts(parts);
    } else {
      // Handed to the socket as a piece of its own: the payload as it is, or a lent one's copy.
      this.#pos = headEnd;
      this.#cut();
      this.#queue.push(lent ? this.#lentCopy(message) : message.payload);
      this.#queuedBytes += payloadLength;
    }
    this.#schedule();
  }

  /**
   * Queues a frame whose payload is `encodeBody(bytes)`, for bytes a send lent (the caller's
   * again once this returns), when its routes are the head this connection wrote last (a
   * stream's): a repeated-head frame written straight into the arena, with no message made.
   * False (nothing queued): the caller makes the message and enqueues it, lent.
   */
  enqueueBytesBody(onward: Route, returnRoute: Route, bytes: Uint8Array): boolean {
    if (!this.#repeatsHead(onward, returnRoute)) return false;
    const length = bytesBodyLength(bytes);
    if (length > LENT_IN_ARENA_MAX) return false; // enqueue gives it a buffer of its own, or says why it cannot
    this.#endRun();
    this.#reserve(FRAME_HEADER_LENGTH + length);
    const at = writeU32BE(this.#arena, this.#pos, repeatedHeadWord(length));
    writeBytesBody(this.#arena, at, bytes);
    this.#pos = at + length;
    this.framesOut++;
    this.#schedule();
    return true;
  }

  /** Whether a frame along these routes repeats the head this connection wrote last (its onward route without this hop). */
  #repeatsHead(onward: Route, returnRoute: Route): boolean {
    const last = this.#lastOnward;
    return last !== undefined && onward.equals(last, 1) && returnRoute.equals(this.#lastReturn);
  }

  /**
   * Queues a run of repeated-head frames as another connection read them (the runtime's REPEATED_HEAD_PAYLOADS),
   * when their routes are the head this connection wrote last: they join the run of frames
   * passed on unchanged (see #runSource). False (nothing queued): they come one by one.
   */
  enqueueRun(run: MessageRun): boolean {
    if (run.format !== REPEATED_HEAD_PAYLOADS || !this.#repeatsHead(run.onwardRoute, run.returnRoute)) return false;
    this.#addToRun(run.source, run.start, run.end);
    this.framesOut += run.count;
    this.#schedule();
    return true;
  }

  /**
   * Takes a short repeated-head frame into the run if its source holds it exactly as it is to be
   * written (the length word right before the payload): extends the run when it follows it
   * in the same buffer, else starts a new one. False: written the usual way.
   */
  #continueRun(message: LocalMessage, payloadLength: number): boolean {
    const source = message.payloadSource;
    if (source === undefined) return false;
    const start = message.payloadStart;
    const at = start - FRAME_HEADER_LENGTH;
    if (at < 0 || readU32BE(source, at) !== repeatedHeadWord(payloadLength)) return false;
    this.#addToRun(source, at, start + payloadLength);
    return true;
  }

  /** Frames `source[start, end)` join the run: they extend it when they follow it in the same buffer, else start a new one. */
  #addToRun(source: Uint8Array, start: number, end: number): void {
    if (source === this.#runSource && start === this.#runEnd) {
      this.#runEnd = end;
      return;
    }
    this.#endRun();
    this.#runSource = source;
    this.#runStart = start;
    this.#runEnd = end;
  }

  /**
   * Hands the run, if any, to the socket: as a view of the read that holds it when the run
   * is at least half of that read's memory (RUN_VIEW_MIN_SHARE), else copied into the arena.
   * A view saves the copy and the arena (measured on 1 KiB relayed, probe/relay-cpu: the
   * middle's CPU per message 0.76-0.81 → 0.57-0.66 µs, fewer page faults); the share bounds
   * what a view can keep alive: a read that is mostly other frames (dropped, or for other
   * routes) is not held for the sake of a few bytes, so queued bytes stay within twice
   * what the connection counts against its high-water mark.
   */
  #endRun(): void {
    const source = this.#runSource;
    if (source === undefined) return;
    this.#runSource = undefined;
    const start = this.#runStart;
    const length = this.#runEnd - start;
    this.#runStart = this.#runEnd = 0;
    if (length >= source.buffer.byteLength * RUN_VIEW_MIN_SHARE) {
      this.#cut();
      this.#queue.push(source.subarray(start, start + length));
      this.#queuedBytes += length;
      return;
    }
    this.#reserve(length);
    copyBytes(this.#arena, this.#pos, source, start, start + length);
    this.#pos += length;
  }

  /** The payload's parts after its head: short ones copied into the arena, long ones handed on as views. */
  #writeParts(parts: readonly Uint8Array[]): void {
    for (const part of parts) {
      if (part.length < COPY_THRESHOLD) {
        this.#reserve(part.length);
        copyBytes(this.#arena, this.#pos, part);
        this.#pos += part.length;
      } else {
        this.#cut();
        this.#queue.push(part);
        this.#queuedBytes += part.length;
      }
    }
  }

  /** The socket drained: hand it what queued meanwhile. */
  onDrain(): void {
    this.#blocked = false;
    this.#flush();
  }

  /** Hands everything queued to the socket now, ignoring backpressure (before ending it). */
  flushAll(): void {
    this.#blocked = false;
    this.#flush();
  }

  /** Drops everything still queued; later calls do nothing. */
  close(): void {
    this.#closed = true;
    this.#runSource = undefined;
    this.#runStart = this.#runEnd = 0;
    this.#queue = [];
    this.#queuedBytes = 0;
    this.#start = this.#pos;
    this.#reuse = false;
    this.#retired.length = 0;
    this.#retiredAt.length = 0;
    this.#spare.length = 0;
    this.#lentSpare.length = 0;
    this.#lentSpareBytes = 0;
  }

  /** A copy of a long lent payload: in a reused buffer up to LENT_REUSED_MAX (retired until the flush that writes it is done), else in one of its own. */
  #lentCopy(message: LocalMessage): Buffer {
    const n = message.payloadLength;
    if (!this.#reuse || n > LENT_REUSED_MAX) return copyOf(message);
    const size = lentBufferSize(n);
    const buffer = this.#takeSpare(size) ?? Buffer.allocUnsafeSlow(size);
    message.copyPayloadTo(buffer, 0);
    this.#retire(buffer); // queued now: the next flush hands it to the socket
    return buffer.subarray(0, n);
  }

  /** A spare of `size` bytes (an arena, or a larger buffer for lent payloads), if one is kept. */
  #takeSpare(size: number): Buffer | undefined {
    let spare: Buffer | undefined;
    if (size === ARENA_SIZE) spare = this.#spare.pop();
    else {
      const i = this.#lentSpare.findIndex((buffer) => buffer.length === size);
      if (i >= 0) {
        spare = this.#lentSpare.splice(i, 1)[0]!;
        this.#lentSpareBytes -= size;
      }
    }
    if (spare !== undefined) this.#spareTaken = true;
    return spare;
  }

  /** `buffer` is the socket's until the next flush's write callback has come (see #recycle). */
  #retire(buffer: Buffer): void {
    this.#retired.push(buffer);
    this.#retiredAt.push(this.#flushes + 1);
  }

  #reserve(bytes: number): void {
    if (this.#arena.length - this.#pos >= bytes) return;
    this.#cut();
    const full = this.#arena;
    // Its last bytes (just cut, or already flushed) leave with the next flush at the latest.
    if (this.#reuse && full.length === ARENA_SIZE) this.#retire(full);
    this.#arena = (bytes <= ARENA_SIZE ? this.#takeSpare(ARENA_SIZE) : undefined) ?? Buffer.allocUnsafe(Math.max(ARENA_SIZE, bytes));
    this.#start = this.#pos = 0;
  }

  /**
   * Moves the retired arenas whose last flush has been written to the spares. A write's
   * callback comes once the socket has handed its bytes to the kernel (net.Socket calls
   * them in order), so nothing refers to those bytes any more.
   */
  #recycle(): void {
    const retired = this.#retired;
    while (retired.length > 0 && this.#retiredAt[0]! <= this.#flushesDone) {
      const buffer = retired.shift()!;
      this.#retiredAt.shift();
      if (buffer.length === ARENA_SIZE) {
        if (this.#spare.length < this.#maxSpares) this.#spare.push(buffer);
      } else if (this.#lentSpareBytes + buffer.length <= this.#maxLentSpareBytes) {
        this.#lentSpare.push(buffer);
        this.#lentSpareBytes += buffer.length;
      }
    }
  }

  /** Moves the written part of the arena to the queue; the socket owns those bytes from now on. */
  #cut(): void {
    if (this.#pos === this.#start) return;
    this.#queue.push(this.#arena.subarray(this.#start, this.#pos));
    this.#queuedBytes += this.#pos - this.#start;
    this.#start = this.#pos;
  }

  /**
   * Nagle's algorithm without its delay: a frame for an idle socket (nothing written this
   * turn, nothing in the socket's buffer) goes out in the caller's turn, in a microtask, so
   * that the frames its caller and the microtasks queued before it send join it (the
   * handshakes answered from one socket read: one write instead of two; each write costs
   * ~80 µs of CPU on this VM and wakes the peer); frames that follow it in the same turn
   * coalesce and go out together when the turn ends — or sooner, when the sender computes
   * between them (MAX_HOLD_MS).
   */
  #schedule(): void {
    if (isTimedFrame(++this.#heldFrames) && this.#heldTooLong()) {
      this.#flush();
      return;
    }
    if (this.#scheduled || this.#blocked || this.#closed) return;
    this.#scheduled = true;
    atTurnEnd(this.#onTurn);
    if (this.socket.writableLength === 0) queueMicrotask(this.#onIdleFlush);
  }

  /** True if the frames queued before this one have waited maxHoldMs while the sender worked (see MAX_HOLD_MS). */
  #heldTooLong(): boolean {
    if (this.#heldFrames === 1) {
      this.#heldSince = performance.now();
      return false;
    }
    if (this.#blocked || this.#closed || this.#queuedBytes + (this.#pos - this.#start) > HOLD_MAX_BYTES) return false;
    const held = performance.now() - this.#heldSince;
    return held >= this.maxHoldMs && held >= (this.#heldFrames - 1) * HOLD_MIN_WORK_PER_FRAME_MS;
  }

  readonly #onIdleFlush = (): void => {
    if (!this.#blocked) this.#flush();
  };

  readonly #onTurn = (): void => {
    this.#scheduled = false;
    if (!this.#blocked) this.#flush();
  };

  #flush(): void {
    if (this.#closed) return;
    this.#heldFrames = 0;
    this.#endRun();
    this.#cut();
    const queue = this.#queue;
    if (queue.length > 0) {
      this.#queue = [];
      this.#queuedBytes = 0;
      const socket = this.socket;
      const last = queue.length - 1;
      this.#flushes++;
      let ok = true;
      // The last write's callback tells when the socket has handed the batch to the kernel
      // ('drain' comes only after write() returned false), so the connection can re-check its bounds.
      if (last === 0) ok = socket.write(queue[0]!, this.#written);
      else {
        socket.cork();
        for (let i = 0; i < last; i++) socket.write(queue[i]!);
        ok = socket.write(queue[last]!, this.#written);
        socket.uncork();
      }
      if (!ok) this.#blocked = true;
      this.onWritten?.();
      this.lastWriteAt = Date.now();
      if (this.framesOut !== this.#framesHandedOut) {
        this.#framesHandedOut = this.framesOut;
        this.lastMessageWriteAt = this.lastWriteAt;
      }
    }
    this.onFlushed();
  }

  readonly #written = (error?: Error | null): void => {
    if (error) this.#reuse = false;
    else if (this.#reuse) {
      this.#flushesDone++;
      this.#recycle();
    }
    if (!this.#closed) this.onFlushed();
  };
}

/**
 * Whether a payload passed on as a view would keep alive much more memory than its own bytes:
 * a frame received in a socket read of another connection that holds other frames (a relayed 4
 * KiB payload in a 64 KiB read beside a frame for someone else: 15 times its size). While the
 * socket is blocked, what is queued may wait long, and the connection counts its bytes against
 * its bounds and the transport's sendBufferBudget, not the reads they keep: such a payload is
 * copied into the arena then (VIEW_MIN_SHARE_WHILE_BLOCKED; #endRun does the same for runs).
 * While the socket takes what it is given, it goes as a view (no copy on a relay that flows).
 */
function keepsMoreThanItself(message: LocalMessage, payloadLength: number): boolean {
  if (payloadLength > LENT_IN_ARENA_MAX) return false;
  const source = message.payloadSource;
  return source !== undefined && payloadLength < source.buffer.byteLength * VIEW_MIN_SHARE_WHILE_BLOCKED;
}

/** A copy of the message's payload in a buffer of its own. */
function copyOf(message: LocalMessage): Buffer {
  const own = Buffer.allocUnsafe(message.payloadLength);
  message.copyPayloadTo(own, 0);
  return own;
}

function tooLarge(length: number): FrameTooLargeError {
  return new FrameTooLargeError(
    `A message of ${length} bytes does not fit in one frame (maximum ${MAX_FRAME_LENGTH} bytes): send it in smaller messages, or as a byte stream through a portal`,
  );
}
