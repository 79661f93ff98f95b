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
});
