import { copyBytes, readU32BE } from "@hopwire/runtime";

/**
 * Reads a record's plaintext that came in pieces (a record that spanned socket reads,
 * decrypted part by part), front to back, without joining them: what lies inside one piece
 * is read in place (`piece` from `offset`); what straddles two is copied out on its own (a
 * MESSAGES record of ~64 KiB in two pieces has one such envelope).
 */
export class PlaintextPieces {
  #index = 0;
  #piece: Uint8Array;
  #offset: number;
  /** The bytes of the pieces before the current one, and of all of them: what is left, before a copy is made. */
  #passed = 0;
  readonly #total: number;
  /** The last take(): `bytes[start, start + length)`. */
  bytes: Uint8Array;
  start = 0;
  /** The reader's own state, kept with the record: the head bytes of its last full envelope (-1: none to repeat). */
  headLength = -1;

  constructor(
    private readonly pieces: readonly Uint8Array[],
    offset: number,
  ) {
    this.#piece = pieces[0]!;
    this.#offset = offset;
    this.bytes = this.#piece;
    let total = 0;
    for (const piece of pieces) total += piece.length;
    this.#total = total;
  }

  /** The piece being read, and where in it (after atEnd, which moves on to the next piece). */
  get piece(): Uint8Array {
    return this.#piece;
  }

  get offset(): number {
    return this.#offset;
  }

  /** Moves to `offset` in the current piece (read in place up to there). */
  skipTo(offset: number): void {
    this.#offset = offset;
  }

  /** Whether every byte has been read. */
  get atEnd(): boolean {
    this.#settle();
    return this.#offset >= this.#piece.length;
  }

  /** The next 4 bytes as a big-endian u32, or -1 if fewer are left. */
  readU32(): number {
    this.#settle();
    const piece = this.#piece;
    if (this.#offset + 4 <= piece.length) {
      const word = readU32BE(piece, this.#offset);
      this.#offset += 4;
      return word;
    }
    if (!this.take(4)) return -1;
    return readU32BE(this.bytes, this.start);
  }

  /** The next `length` bytes, in `bytes[start, start + length)`; false, with nothing read, if fewer are left. */
  take(length: number): boolean {
    this.#settle();
    const piece = this.#piece;
    if (this.#offset + length <= piece.length) {
      this.bytes = piece;
      this.start = this.#offset;
      this.#offset += length;
      return true;
    }
    // `length` is the peer's (up to 2 GiB in a MESSAGES length word): checked against what the
    // record holds before the copy is allocated, or a short record would cost that much memory.
    if (length > this.#total - this.#passed - this.#offset) return false;
    const copy = new Uint8Array(length);
    let filled = 0;
    while (filled < length) {
      this.#settle();
      const from = this.#piece;
      if (this.#offset >= from.length) return false; // (not with the check above: a guard against looping for ever)
      const n = Math.min(length - filled, from.length - this.#offset);
      filled = copyBytes(copy, filled, from, this.#offset, this.#offset + n);
      this.#offset += n;
    }
    this.bytes = copy;
    this.start = 0;
    return true;
  }

  /** Moves past pieces that are read to the end (while another follows). */
  #settle(): void {
    while (this.#offset >= this.#piece.length && this.#index + 1 < this.pieces.length) {
      this.#offset -= this.#piece.length;
      this.#passed += this.#piece.length;
      this.#piece = this.pieces[++this.#index]!;
    }
  }
}
