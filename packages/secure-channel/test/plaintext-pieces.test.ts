import { describe, expect, it } from "vitest";
import { PlaintextPieces } from "../dist/secure-channel/plaintext-pieces.js";

/** The concatenation cut at `cuts`. */
function piecesOf(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const at = [0, ...cuts, bytes.length];
  return at.slice(1).map((end, i) => bytes.subarray(at[i], end));
}

describe("PlaintextPieces", () => {
  const bytes = Uint8Array.from({ length: 40 }, (_, i) => i);

  it("reads words and ranges across any cuts, in place where they lie in one piece, copied where they straddle", () => {
    for (const cuts of [[], [1], [2], [3], [5], [6], [20], [2, 3, 4], [10, 10, 30], [39]]) {
      const pieces = piecesOf(bytes, cuts);
      const record = new PlaintextPieces(pieces, 1);
      expect(record.readU32(), `cuts ${cuts.join(",")}`).toBe(0x01020304);
      expect(record.take(10)).toBe(true);
      const first = record.bytes.subarray(record.start, record.start + 10);
      expect([...first]).toEqual([5, 6, 7, 8, 9, 10, 11, 12, 13, 14]);
      expect(record.take(25)).toBe(true);
      expect([...record.bytes.subarray(record.start, record.start + 25)]).toEqual(Array.from({ length: 25 }, (_, i) => 15 + i));
      expect(record.atEnd).toBe(true);
      expect(record.readU32()).toBe(-1);
      expect(record.take(1)).toBe(false);
    }
  });

  it("hands out a range inside one piece as that piece, and moves through pieces with skipTo", () => {
    const pieces = piecesOf(bytes, [16]);
    const record = new PlaintextPieces(pieces, 0);
    expect(record.take(8)).toBe(true);
    expect(record.bytes).toBe(pieces[0]);
    expect(record.start).toBe(0);
    record.skipTo(16);
    expect(record.atEnd).toBe(false);
    expect(record.piece).toBe(pieces[1]);
    expect(record.offset).toBe(0);
    expect(record.take(24)).toBe(true);
    expect(record.bytes).toBe(pieces[1]);
    expect(record.atEnd).toBe(true);
  });

  it("a length past what the pieces hold is refused before anything is allocated, and nothing is read", () => {
    // A MESSAGES record's length word is the peer's: up to 2 GiB. The copy of a straddling
    // envelope was allocated at that length before the pieces were found short.
    const pieces = piecesOf(bytes, [6, 20]);
    const record = new PlaintextPieces(pieces, 0);
    expect(record.take(4)).toBe(true);
    record.skipTo(5); // the reader stands in the first piece, 35 bytes left over three pieces
    for (const length of [36, 0x7fffffff, 2 ** 33]) {
      // 2^33 bytes is past any typed array's length in Node: allocating it throws RangeError, so the refusal came first.
      expect(record.take(length), `length ${length}`).toBe(false);
      expect(record.piece).toBe(pieces[0]);
      expect(record.offset).toBe(5);
    }
    // Exactly what is left is still taken, copied across the cuts.
    expect(record.take(35)).toBe(true);
    expect([...record.bytes.subarray(record.start, record.start + 35)]).toEqual(Array.from({ length: 35 }, (_, i) => 5 + i));
    expect(record.atEnd).toBe(true);
  });

  it("counts what is left from where the reader stands, after pieces it moved past", () => {
    const pieces = piecesOf(bytes, [10, 20, 30]);
    const record = new PlaintextPieces(pieces, 0);
    expect(record.take(25)).toBe(true); // into the third piece
    expect(record.take(16)).toBe(false); // 15 left
    expect(record.offset).toBe(5);
    expect(record.take(15)).toBe(true);
    expect([...record.bytes.subarray(record.start, record.start + 15)]).toEqual(Array.from({ length: 15 }, (_, i) => 25 + i));
  });
});
