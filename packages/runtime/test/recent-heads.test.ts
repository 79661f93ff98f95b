import { describe, expect, it } from "vitest";
import { Address, LocalMessage, Route, encodeEnvelope } from "@hopwire/runtime";
import { RecentHeads, type KnownHead } from "../dist/codec/recent-heads.js";

// RecentHeads keeps the heads a connection's envelopes repeat in one arena (EnvelopeHeadDecoder
// uses it; envelope-head.test.ts covers it through the decoder). Here: what the arena promises.

/** A network envelope to `name` with a one-byte payload, and its head's length (up to the bin32 tag). */
function frame(name: string): { bytes: Uint8Array; headLength: number } {
  const bytes = encodeEnvelope(new LocalMessage(new Route([new Address(0, name)]), new Route([new Address(0, "app")]), Uint8Array.of(7)), "network");
  return { bytes, headLength: bytes.length - 5 }; // the payload's u32 length and its one byte follow the head
}

/** As EnvelopeHeadDecoder asks: find, and on a miss, sighted, and keep on a second sighting. */
function sight(heads: RecentHeads, f: { bytes: Uint8Array; headLength: number }): KnownHead | undefined {
  const view = new DataView(f.bytes.buffer, f.bytes.byteOffset, f.bytes.byteLength);
  const found = heads.find(f.bytes, 0, f.bytes.length, view);
  if (found !== undefined) return found;
  if (!heads.sighted(0, f.headLength)) return undefined;
  return heads.keep(f.bytes, 0, f.headLength, 4, Route.EMPTY, Route.EMPTY);
}

/** A kept head's bytes in `view`, the arena it was kept in (as a decoder takes it for its last head). */
const bytesOf = (view: DataView, head: KnownHead): number[] => Array.from({ length: head.length }, (_, i) => view.getUint8(head.at + i));

/** FNV-1a, as RecentHeads hashes a head. */
function fnv1a(bytes: Uint8Array, end: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < end; i++) hash = Math.imul(hash ^ bytes[i]!, 0x01000193);
  return hash;
}

describe("RecentHeads", () => {
  it("never changes a kept head's bytes: a full arena grows into a copy, and starting over takes a fresh one", () => {
    const heads = new RecentHeads();
    const keepNew = (name: string): KnownHead => {
      const f = frame(name);
      sight(heads, f);
      const known = sight(heads, f)!;
      expect(known.length).toBe(f.headLength);
      return known;
    };
    const name = (i: number): string => `head${String(i).padStart(5, "0")}`; // one length for all
    // 1,023 heads, then `last`: the 1,024th, in the arena as it has grown by then (from none, then 1 KiB).
    for (let i = 0; i < 1023; i++) keepNew(name(i));
    const last = keepNew(name(99_999));
    const lastView = heads.view;
    const lastBytes = bytesOf(lastView, last);
    expect(last.at).toBe(1023 * last.length);
    // 1,024 more: the first starts over, and the last is written where `last` was, had the
    // arena been written over rather than replaced.
    for (let i = 0; i < 1024; i++) {
      const known = keepNew(name(2000 + i));
      expect(known.at).toBe(i * known.length);
    }
    expect(bytesOf(lastView, last)).toEqual(lastBytes);
    expect(lastBytes).toEqual(Array.from(frame(name(99_999)).bytes.subarray(0, last.length)));
  });

  it("tracks at most four times its bound of heads seen once: a channel end's few, where each request's reply address is a new head", () => {
    const heads = new RecentHeads(16);
    const others = (from: number, n: number): void => {
      for (let i = 0; i < n; i++) sight(heads, frame(`one-off-${from + i}`));
    };
    const a = frame("stable-a");
    expect(sight(heads, a)).toBeUndefined(); // seen once
    others(0, 40);
    expect(sight(heads, a)).toBeDefined(); // second sighting within 64: kept
    const b = frame("stable-b");
    expect(sight(heads, b)).toBeUndefined();
    others(100, 70); // past 64 heads seen once, the list starts over
    expect(sight(heads, b)).toBeUndefined(); // forgotten: a first sighting again
    expect(sight(heads, b)).toBeDefined();
    // The default (a connection's decoder) tracks 4,096: b's second sighting after 70 others is one.
    const wide = new RecentHeads();
    sight(wide, b);
    for (let i = 0; i < 70; i++) sight(wide, frame(`one-off-${200 + i}`));
    expect(sight(wide, b)).toBeDefined();
  });

  it("keeps its arena bounded against heads crafted to share a hash (each keeps the other out, again and again)", () => {
    // Two heads of one length with the same FNV-1a hash, by a birthday search.
    const byHash = new Map<number, string>();
    let pair: [string, string] | undefined;
    for (let i = 0; pair === undefined && i < 400_000; i++) {
      const name = `n${String(i).padStart(6, "0")}`;
      const f = frame(name);
      const hash = fnv1a(f.bytes, f.headLength);
      const other = byHash.get(hash);
      if (other !== undefined) pair = [other, name];
      else byHash.set(hash, name);
    }
    expect(pair).toBeDefined();
    const [a, b] = pair!.map(frame);
    expect(a!.bytes).not.toEqual(b!.bytes);
    const heads = new RecentHeads();
    let furthest = 0;
    for (let i = 0; i < 5000; i++) {
      for (const f of [a!, b!]) {
        const known = sight(heads, f);
        if (known !== undefined) furthest = Math.max(furthest, known.at + known.length);
      }
    }
    // Each sighting misses (the other head holds the hash) and keeps a copy: without a bound
    // the arena would hold 10,000 of them. It starts over after 1,024.
    expect(furthest).toBeLessThanOrEqual(1024 * a!.headLength);
    expect(furthest).toBeGreaterThan(0);
  });
});
