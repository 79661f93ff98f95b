import { readU32BE } from "@hopwire/runtime";
import { FrameTooLargeError, TcpProtocolVersionError, TruncatedFrameError } from "./errors.js";
import { FRAME_HEADER_LENGTH, MAX_FRAME_LENGTH, PROTOCOL_VERSION, REPEATED_HEAD_FRAME } from "./protocol.js";

/** Pieces of a frame held before small ones are joined (see FrameReader's #coalesceSmallPieces). */
const MAX_LOOSE_PIECES = 256;
/** Pieces averaging under this many bytes are joined. */
const SMALL_PIECE_BYTES = 1024;
/**
 * A frame that spanned reads is handed on in its pieces (not joined) only if the memory they
 * keep alive (the reads they are views of) is at most this many times its length: a secure
 * channel's records (~64 KiB: 64,814 bytes at 1 KiB per message) span two 64 KiB reads,
 * 2.02× their length; a short frame across two long reads is joined so that it does not keep
 * them alive.
 */
const MAX_PIECES_MEMORY_SHARE = 3;

/** Receives a frame that spanned reads, in its pieces (views of the reads, in order, `length` bytes in all). */
export type FramePiecesHandler = (pieces: readonly Buffer[], length: number, repeatsHead: boolean) => boolean | void;

/**
 * Splits a TCP byte stream into frames: one protocol version byte, then frames of a u32
 * big-endian length and that many bytes. It handles frames split across chunks and many
 * frames per chunk. A repeated-head frame (REPEATED_HEAD_FRAME) is handed out flagged, its
 * bytes the payload alone: the caller knows the head it repeats. A frame that lies whole
 * inside a chunk is handed out as a range of the chunk (no copy, not even a view object);
 * a frame that spans chunks is handed out once all its bytes have arrived (memory grows with
 * the bytes received, not with the length a peer announces): in its pieces to a caller that
 * takes them (`onPieces`, see MAX_PIECES_MEMORY_SHARE), else assembled with one copy.
 */
export class FrameReader {
  #versionChecked = false;
  readonly #header = Buffer.alloc(FRAME_HEADER_LENGTH);
  #headerFill = 0;
  /** Pieces of the frame being assembled, and how many bytes it still needs. */
  #pieces: Buffer[] = [];
  #frameLength = 0;
  #frameRepeatsHead = false;
  #missing = 0;
  /** Bytes in the pieces after the first #joined ones (those not yet coalesced, see #coalesceSmallPieces). */
  #joined = 0;
  #looseBytes = 0;

  constructor(readonly maxFrameLength: number = MAX_FRAME_LENGTH) {}

  /** @internal pieces held for the frame being assembled (tests: memory follows the bytes, not the reads). */
  get pieceCount(): number {
    return this.#pieces.length;
  }

  /** Bytes received of the frame being assembled (0 between frames). */
  get heldBytes(): number {
    return this.#missing > 0 ? this.#frameLength - this.#missing : 0;
  }

  /** Whether the stream stopped in the middle of a frame (or of a length prefix). */
  get midFrame(): boolean {
    return this.#headerFill > 0 || this.#missing > 0;
  }

  /**
   * Feeds one chunk; calls `onFrame(buffer, start, end, repeatsHead)` for every complete frame, in order
   * (or `onPieces`, if given, for a frame that spanned chunks: see FramePiecesHandler). Throws
   * TcpProtocolVersionError or FrameTooLargeError on a protocol violation (the caller
   * closes the connection). Either callback may stop the reader by returning false.
   */
  push(chunk: Buffer, onFrame: (buffer: Buffer, start: number, end: number, repeatsHead: boolean) => boolean | void, onPieces?: FramePiecesHandler): void {
    let offset = 0;
    const end = chunk.length;
    if (!this.#versionChecked) {
      if (end === 0) return;
      const version = chunk[0]!;
      if (version !== PROTOCOL_VERSION) {
        // A printable byte is most likely text from a server of another protocol (HTTP answers "H").
        const text = version >= 0x20 && version < 0x7f ? ` (the byte ${JSON.stringify(String.fromCharCode(version))}: is the peer a Hopwire node?)` : "";
        throw new TcpProtocolVersionError(`The peer announced protocol version ${version}; this transport speaks ${PROTOCOL_VERSION}${text}`);
      }
      this.#versionChecked = true;
      offset = 1;
    }
    while (offset < end) {
      if (this.#missing > 0) {
        // Continue a frame that spans chunks.
        const take = Math.min(this.#missing, end - offset);
        this.#pieces.push(chunk.subarray(offset, offset + take));
        offset += take;
        this.#missing -= take;
        if (this.#missing > 0) {
          this.#looseBytes += take;
          this.#coalesceSmallPieces();
          return;
        }
        const pieces = this.#pieces;
        const length = this.#frameLength;
        this.#resetPieces();
        if (onPieces !== undefined && memoryOf(pieces) <= length * MAX_PIECES_MEMORY_SHARE) {
          if (onPieces(pieces, length, this.#frameRepeatsHead) === false) return;
          continue;
        }
        const frame = Buffer.concat(pieces, length);
        if (onFrame(frame, 0, frame.length, this.#frameRepeatsHead) === false) return;
        continue;
      }
      let word: number;
      if (this.#headerFill === 0 && end - offset >= FRAME_HEADER_LENGTH) {
        // Not Buffer#readUInt32BE: it checks its bounds, and this runs once per frame.
        word = readU32BE(chunk, offset);
        offset += FRAME_HEADER_LENGTH;
      } else {
        // The length prefix itself spans chunks.
        while (this.#headerFill < FRAME_HEADER_LENGTH && offset < end) this.#header[this.#headerFill++] = chunk[offset++]!;
        if (this.#headerFill < FRAME_HEADER_LENGTH) return;
        this.#headerFill = 0;
        word = this.#header.readUInt32BE(0);
      }
      const repeatsHead = word >= REPEATED_HEAD_FRAME;
      const length = repeatsHead ? word - REPEATED_HEAD_FRAME : word;
      if (length > this.maxFrameLength) {
        throw new FrameTooLargeError(`The peer announced a frame of ${length} bytes; the maximum is ${this.maxFrameLength}`);
      }
      if (end - offset >= length) {
        const start = offset;
        offset += length;
        if (onFrame(chunk, start, offset, repeatsHead) === false) return;
      } else {
        this.#frameLength = length;
        this.#frameRepeatsHead = repeatsHead;
        this.#pieces.push(chunk.subarray(offset));
        this.#looseBytes = end - offset;
        this.#missing = length - (end - offset);
        return;
      }
    }
  }

  /**
   * A piece costs ~0.1-0.2 KiB of objects whatever its size: a peer that dribbles a large
   * frame a byte per TCP segment made a held byte cost ~70 bytes of heap. Pieces that arrived
   * small are joined, MAX_LOOSE_PIECES at a time (each byte copied once more), so what is held
   * stays near the bytes received; reads of the usual size (KiBs) are never copied twice.
   */
  #coalesceSmallPieces(): void {
    const loose = this.#pieces.length - this.#joined;
    if (loose < MAX_LOOSE_PIECES) return;
    if (this.#looseBytes < loose * SMALL_PIECE_BYTES) {
      const block = Buffer.concat(this.#pieces.slice(this.#joined), this.#looseBytes);
      this.#pieces.length = this.#joined;
      this.#pieces.push(block);
    }
    this.#joined = this.#pieces.length;
    this.#looseBytes = 0;
  }

  #resetPieces(): void {
    this.#pieces = [];
    this.#joined = 0;
    this.#looseBytes = 0;
  }

  /** Called when the stream ends: a frame cut short is a TruncatedFrameError. */
  end(): void {
    if (this.midFrame) {
      const had = this.#headerFill > 0 ? `${this.#headerFill} of the 4 length bytes` : `${this.#frameLength - this.#missing} of ${this.#frameLength} bytes`;
      this.#resetPieces();
      throw new TruncatedFrameError(`The peer closed the connection in the middle of a frame (${had} received)`);
    }
  }
}

/** Bytes kept alive by views `pieces`: each distinct buffer's whole memory (consecutive pieces may share one). */
function memoryOf(pieces: readonly Buffer[]): number {
  let bytes = 0;
  let last: ArrayBufferLike | undefined;
  for (const piece of pieces) {
    if (piece.buffer !== last) bytes += piece.buffer.byteLength;
    last = piece.buffer;
  }
  return bytes;
}
