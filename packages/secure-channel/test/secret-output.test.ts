// Keys never print: util.inspect (console.log, even with every option turned up) and
// JSON.stringify of the objects that hold a channel's symmetric keys show none of their bytes.
import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import { heldAeadKey, nodeCryptoProvider } from "../dist/crypto/node-provider.js";
import { InitiatorHandshake } from "../dist/handshake/initiator-handshake.js";
import { ResponderHandshake } from "../dist/handshake/responder-handshake.js";
import type { HandshakeAction, HandshakeResult } from "../dist/handshake/types.js";
import { createIdentity } from "../dist/identity/identity.js";
import { trustEveryone } from "../dist/trust/trust-policy.js";
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

function sent(actions: readonly HandshakeAction[]): Uint8Array {
  const send = actions.find((a) => a.type === "send");
  if (send?.type !== "send") throw new Error("expected a send action");
  return send.message;
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

describe("a completed handshake's transport keys do not print", () => {
  it("inspect and JSON of the result, the 'complete' action and the machine show them as [redacted]", async () => {
    const initiator = new InitiatorHandshake({ identity: createIdentity(), trustPolicy: trustEveryone() });
    const responder = new ResponderHandshake({ identity: createIdentity(), trustPolicy: trustEveryone() });
    const m2 = sent(await responder.handle({ type: "message", message: sent(await initiator.handle({ type: "initialize" })) }));
    const actions = await initiator.handle({ type: "message", message: m2 });
    const responderActions = await responder.handle({ type: "message", message: sent(actions) });
    const results = [initiator.result!, responder.result!];
    const keys = results.flatMap((r: HandshakeResult) => [r.sendKey.slice(), r.receiveKey.slice()]);
    expect(keys.every((k) => k.length === 32 && k.some((b) => b !== 0))).toBe(true);
    for (const value of [...results, actions, responderActions, initiator, responder, { deep: { nested: { actions } } }]) {
      for (const text of printed(value)) for (const key of keys) expect(showsKey(text, key)).toBe(false);
    }
    expect(inspect(results[0])).toContain("sendKey: '[redacted]'");
    expect(JSON.parse(JSON.stringify(results[0]))).toMatchObject({ peerIdentifier: results[0]!.peerIdentifier, sendKey: "[redacted]", receiveKey: "[redacted]" });
    // The keys are still there for the code that uses them.
    expect(results[0]!.sendKey).toEqual(results[1]!.receiveKey);
    expect(Object.keys(results[0]!)).toEqual(["peerIdentifier", "peerPublicKey", "peerNoiseStaticKey", "handshakeHash", "sendKey", "receiveKey"]);
  });
});
