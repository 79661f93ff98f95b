import { describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import { Address, EnvelopeHeadDecoder, encodeEnvelope, LocalMessage, Route } from "@hopwire/runtime";
import { CHANNEL_KEPT_HEAD_BYTES, CHANNEL_MAX_HEAD_COST } from "../dist/index.js";

// A relay node's registrant channel end carries its registrant's answers to every initiator: a head per
// initiator's channel, of 2 + 2 hops (its connection and channel onward, the registrant's channel back;
// 0.9 KiB as keptHeadCost counts it, with the end's own address in front). Its decoder keeps 16 heads
// besides the last (CHANNEL_RECENT_HEADS): the bytes bound must let 16 such heads stay, or 14-16
// initiators alternating lose the repeated-head fast path.
const hex = () => new Address(0, randomBytes(16).toString("hex"));

describe("a channel end's kept heads", () => {
  it("keep 16 heads of a relay node's registrant channel (2 + 3 hops of random addresses)", () => {
    const decoder = new EnvelopeHeadDecoder({ returnPrefix: hex(), recentHeads: 16, maxKeptHeadBytes: CHANNEL_KEPT_HEAD_BYTES, maxHeadCost: CHANNEL_MAX_HEAD_COST });
    const back = [hex(), hex()];
    const frames = Array.from({ length: 16 }, () => Buffer.from(encodeEnvelope(new LocalMessage(new Route([hex(), hex()]), new Route(back), Buffer.from("answer")), "network")));
    const routes = (): Route[] => frames.map((f) => (decoder.decode(f, 0, f.length), decoder.onwardRoute));
    routes(); // seen once
    const kept = routes(); // seen twice: kept
    const again = routes();
    expect(again.filter((r, i) => r === kept[i]).length).toBe(16);
  });
});
