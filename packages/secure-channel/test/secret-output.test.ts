// Keys never print: util.inspect (console.log, even with every option turned up) and
// JSON.stringify of the objects that hold a channel's symmetric keys show none of their bytes.
import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import { heldAeadKey, nodeCryptoProvider } from "../dist/crypto/node-provider.js";
import { providers } from "./helpers.js";

/** What a careless console.log, or an attacker's inspect with every option on, would print. */
function printed(value: unknown): string[] {
  return [
    inspect(value),
    inspect(value, { depth: Infinity, showHidden: true, getters: true, maxArrayLength: Infinity, breakLength: Infinity }),
    JSON.stringify(value) ?? "",
  ];
}

/** Whether `text` shows `key`: as hex, or its bytes as the numbers inspect and JSON print (padding, JSON's "0": indices aside). */
function showsKey(text: string, key: Uint8Array): boolean {
  if (text.includes(Buffer.from(key).toString("hex").slice(0, 16)) || text.includes(Buffer.from(key).toString("base64").slice(0, 12))) return true;
  const numbers = (text.match(/\d+/g) ?? []).map(Number);
  const head = [...key.subarray(0, 8)];
  const jsonHead = head.flatMap((b, i) => [i, b]); // {"0":12,"1":34,...}
  return [head, jsonHead].some((wanted) => numbers.some((_, at) => wanted.every((b, i) => numbers[at + i] === b)));
}

describe("an AEAD's key does not print", () => {
  it.each(providers.map((p) => [p.name, p] as const))("%s provider: inspect and JSON show no key byte, and no property reads it", (_name, provider) => {
    const key = Uint8Array.from({ length: 32 }, (_, i) => 0xd0 - 3 * i);
    const aead = provider.createAead("AESGCM", key.slice());
    for (const text of printed(aead)) expect(showsKey(text, key)).toBe(false);
    expect("heldKey" in aead).toBe(false);
    aead.dispose();
  });

  it("the node AEAD still holds the key (the test accessor reads it)", () => {
    const key = new Uint8Array(32).fill(0x5a);
    const aead = nodeCryptoProvider.createAead("AESGCM", key);
    expect(heldAeadKey(aead)).toEqual(key);
    aead.dispose();
  });
});
