// The raw records of the bench's floors (net/aead-records.ts): a cipher made ahead by
// `prepare` (as the seed floor does after each write) must make and open the records a fresh
// one does, and one made for another nonce must not be used.
import { describe, expect, it } from "vitest";
import { RecordOpener, RecordSealer, recordKeys } from "../dist/net/aead-records.js";

describe("RecordSealer.prepare and RecordOpener.prepare", () => {
  it("seal and open the records a fresh cipher does", () => {
    const keys = recordKeys(1);
    const prepared = new RecordSealer(keys);
    const fresh = new RecordSealer(keys);
    const opener = new RecordOpener(keys);
    const payload = Buffer.from("a round trip's request");
    for (let i = 0; i < 3; i++) {
      prepared.prepare(0);
      opener.prepare(0);
      const record = prepared.seal(0, payload);
      expect(record).toEqual(fresh.seal(0, payload));
      expect(opener.open(record)).toEqual(payload);
    }
  });

  it("an opener prepared for one nonce opens a later one with a cipher of its own", () => {
    const keys = recordKeys(1);
    const sealer = new RecordSealer(keys);
    const opener = new RecordOpener(keys);
    const payload = Buffer.from("after a lost record");
    opener.prepare(0);
    sealer.seal(0, payload); // nonce 0 never arrives
    expect(opener.open(sealer.seal(0, payload))).toEqual(payload);
  });
});
