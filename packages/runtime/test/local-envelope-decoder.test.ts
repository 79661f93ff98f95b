// A thread's link decodes the main thread's envelopes with LocalEnvelopeDecoder: a head that
// repeats the last one gets its routes back instead of new ones (a worker slower than its
// senders kept ~2.3 KB of decoded routes per waiting message before; ~0.9 KB after, measured
// behind a secure channel), and everything else decodes as decodeEnvelope would.
import { describe, expect, it } from "vitest";
import { DecodeError, LocalMessage, decodeBody, decodeEnvelope, encodeBody, encodeEnvelope, route } from "@hopwire/runtime";
import { LocalEnvelopeDecoder } from "../dist/placement/envelopes.js";

const localEnvelope = (to: string, from: string, body: unknown, localInfo?: Record<string, unknown>): Uint8Array =>
  encodeEnvelope(new LocalMessage(route(to), route("1#127.0.0.1:4000", from), encodeBody(body), localInfo), "local");

describe("LocalEnvelopeDecoder", () => {
  it("a repeated head gets the last one's routes and local info (the same objects), with its own payload", () => {
    const decoder = new LocalEnvelopeDecoder();
    const first = decoder.decode(localEnvelope("sink", "sender", "one", { sourceFlow: "fc1" }));
    const second = decoder.decode(localEnvelope("sink", "sender", "two, longer", { sourceFlow: "fc1" }));
    expect(second.onwardRoute).toBe(first.onwardRoute);
    expect(second.returnRoute).toBe(first.returnRoute);
    expect(second.localInfo).toBe(first.localInfo);
    expect(Object.isFrozen(second.localInfo)).toBe(true);
    expect([decodeBody(first.payload), decodeBody(second.payload)]).toEqual(["one", "two, longer"]);
    // As decodeEnvelope reads them:
    const plain = decodeEnvelope(localEnvelope("sink", "sender", "two, longer", { sourceFlow: "fc1" }), "local");
    expect(second.onwardRoute.toString()).toBe(plain.onwardRoute.toString());
    expect(second.returnRoute.toString()).toBe(plain.returnRoute.toString());
    expect(second.localInfo).toEqual(plain.localInfo);
  });

  it("a different head (routes or local info) is decoded in full", () => {
    const decoder = new LocalEnvelopeDecoder();
    const first = decoder.decode(localEnvelope("sink", "sender", 1, { sourceFlow: "fc1" }));
    const otherRoute = decoder.decode(localEnvelope("sink", "other", 2, { sourceFlow: "fc1" }));
    expect(otherRoute.returnRoute).not.toBe(first.returnRoute);
    expect(otherRoute.returnRoute.toString()).toContain("other");
    const otherInfo = decoder.decode(localEnvelope("sink", "other", 3, { sourceFlow: "fc2" }));
    expect(otherInfo.localInfo).toEqual({ sourceFlow: "fc2" });
    expect(decodeBody(otherInfo.payload)).toBe(3);
  });

  it("matches against its own copy of the last head, whatever came before it or happens to the batch", () => {
    const decoder = new LocalEnvelopeDecoder();
    const longBytes = localEnvelope("sink", "a-sender-with-a-long-address-value", 1);
    const long = decoder.decode(longBytes);
    const shortBytes0 = localEnvelope("sink", "s", 2);
    const short = decoder.decode(shortBytes0);
    // The batches the heads came in are reused: nothing of them may count.
    longBytes.fill(0);
    shortBytes0.fill(0);
    const shortAgain = decoder.decode(localEnvelope("sink", "s", 3));
    expect(shortAgain.returnRoute).toBe(short.returnRoute);
    // The long head's bytes are gone from the decoder's copy but for what the short one did not overwrite: decoded anew.
    const longAgain = decoder.decode(localEnvelope("sink", "a-sender-with-a-long-address-value", 4));
    expect(longAgain.returnRoute).not.toBe(long.returnRoute);
    expect(longAgain.returnRoute).not.toBe(short.returnRoute);
    expect(longAgain.returnRoute.toString()).toContain("a-sender-with-a-long-address-value");
    expect(decodeBody(longAgain.payload)).toBe(4);
    const shortBytes = localEnvelope("sink", "s", 5);
    const afterLong = decoder.decode(shortBytes);
    expect(afterLong.returnRoute.toString()).toContain("0#s");
    expect(decodeBody(afterLong.payload)).toBe(5);
  });

  it("a malformed envelope after a good one still fails with DecodeError (a payload length that lies is not taken as a repeat)", () => {
    const decoder = new LocalEnvelopeDecoder();
    const good = localEnvelope("sink", "sender", "ok");
    decoder.decode(good);
    const lying = Uint8Array.from(good);
    lying[lying.length - encodeBody("ok").length - 1] ^= 0xff; // the low byte of the bin32 length
    expect(() => decoder.decode(lying)).toThrow(DecodeError);
    expect(decodeBody(decoder.decode(good).payload)).toBe("ok");
  });
});
