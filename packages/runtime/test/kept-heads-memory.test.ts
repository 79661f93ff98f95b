import { describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Address, EnvelopeHeadDecoder, LocalMessage, MAX_KEPT_HEAD_BYTES, Route, encodeEnvelope, type KeptHeadsBudget } from "@hopwire/runtime";

// A connection's decoder keeps the heads its peer repeats (RecentHeads, up to 1,024), and the
// peer chooses them. docs/transport-tcp.md says "about 1 KiB each with their routes"; heads of
// 30 one-character addresses (124 bytes, each sent twice) held ≈ 2 KB each, ≈ 2 MB a
// connection, with nothing bounding the sum over a transport's connections (session 56).

const ALPHA = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_";
/**
 * The envelope of head `i` (distinct for i < 4096): 15 + 15 one-character local addresses (V8
 * shares one-character strings), an empty payload. Plain JavaScript, for the child process too.
 */
const CRAFTED = `(Address, LocalMessage, Route, encodeEnvelope, ALPHA) => (i, conn = 0) => {
  const on = Array.from({ length: 15 }, (_, k) => new Address(0, k === 0 ? ALPHA[i & 63] : k === 1 ? ALPHA[(i >> 6) & 63] : "z"));
  const ret = Array.from({ length: 15 }, (_, k) => new Address(0, k === 0 ? ALPHA[conn & 63] : "y"));
  return encodeEnvelope(new LocalMessage(new Route(on), new Route(ret), new Uint8Array(0)), "network");
}`;
const crafted = (new Function(`return ${CRAFTED}`)() as (...args: unknown[]) => (i: number, conn?: number) => Uint8Array)(Address, LocalMessage, Route, encodeEnvelope, ALPHA);

describe("the heads a decoder keeps", () => {
  it("1,024 crafted heads, each seen twice, hold at most ~1 MiB of heap (≈ 2 MiB before)", () => {
    // What stays reachable shows only after a collection: a child process with --expose-gc.
    const script = `
      import { Address, EnvelopeHeadDecoder, LocalMessage, Route, encodeEnvelope } from "@hopwire/runtime";
      const ALPHA = ${JSON.stringify(ALPHA)};
      const crafted = (${CRAFTED})(Address, LocalMessage, Route, encodeEnvelope, ALPHA);
      const frames = Array.from({ length: 1024 }, (_, i) => crafted(i));
      const decoder = new EnvelopeHeadDecoder({ returnPrefix: Address.random() });
      globalThis.gc(); globalThis.gc();
      const before = process.memoryUsage().heapUsed;
      for (let round = 0; round < 2; round++) for (const f of frames) decoder.decode(f, 0, f.length);
      globalThis.gc(); globalThis.gc();
      const grew = process.memoryUsage().heapUsed - before;
      if (decoder.onwardRoute.length !== 15) throw new Error("decoded wrong");
      console.log(JSON.stringify({ grew, kept: decoder.keptHeadBytes ?? null }));`;
    const out = execFileSync(process.execPath, ["--expose-gc", "--input-type=module", "-e", script], { encoding: "utf8", cwd: fileURLToPath(new URL(".", import.meta.url)) });
    const { grew, kept } = JSON.parse(out.trim().split("\n").pop()!) as { grew: number; kept: number | null };
    expect(grew, `heap grew ${grew} bytes`).toBeLessThan(1.1 * 1024 * 1024);
    expect(kept).not.toBeNull();
    expect(kept!).toBeLessThanOrEqual(MAX_KEPT_HEAD_BYTES);
  });

  it("decoders sharing a KeptHeadsBudget keep nothing past it, decode right all the same, and give their share back on forgetHeads()", () => {
    const budget: KeptHeadsBudget = { held: 0, max: 200 * 1024 };
    const decoders = [0, 1, 2].map(() => new EnvelopeHeadDecoder({ returnPrefix: Address.random(), keptHeadsBudget: budget }));
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 300; i++) {
        decoders.forEach((decoder, c) => {
          const f = crafted(i, c);
          decoder.decode(f, 0, f.length);
          expect(decoder.onwardRoute.at(0)!.value).toBe(ALPHA[i & 63]);
          expect(decoder.returnRoute.at(1)!.value).toBe(ALPHA[c & 63]);
          expect(budget.held).toBeLessThanOrEqual(budget.max);
        });
      }
    }
    // Their heads took (nearly) the whole budget, and no more.
    expect(budget.held).toBeGreaterThan(budget.max - 4096);
    expect(decoders.reduce((sum, d) => sum + d.keptHeadBytes, 0)).toBe(budget.held);
    decoders[0]!.forgetHeads();
    expect(budget.held).toBe(decoders[1]!.keptHeadBytes + decoders[2]!.keptHeadBytes);
    // A kept head is found again (the same routes), and a forgotten decoder keeps nothing more but still decodes.
    const again = crafted(299, 1);
    decoders[1]!.decode(again, 0, again.length);
    decoders[0]!.decode(crafted(5), 0, crafted(5).length);
    decoders[0]!.decode(crafted(6), 0, crafted(6).length);
    decoders[0]!.decode(crafted(5), 0, crafted(5).length);
    expect(decoders[0]!.keptHeadBytes).toBe(0);
    expect(decoders[0]!.onwardRoute.at(0)!.value).toBe(ALPHA[5]);
    decoders[1]!.forgetHeads();
    decoders[2]!.forgetHeads();
    expect(budget.held).toBe(0);
  });
});
