import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Address, LocalMessage, Route, encodeEnvelope } from "@hopwire/runtime";
import { KEPT_HEADS_BUDGET, PROTOCOL_VERSION } from "@hopwire/transport-tcp";
import { closed, frame, rawClient, startResponder, type Responder } from "./support.js";

// The heads a connection keeps for their repeats count against the transport's
// KEPT_HEADS_BUDGET, and go back to it when the connection closes (session 56: 1,024
// connections each keeping 1,024 crafted heads held ≈ 2 GB, with nothing bounding the sum).
let responder: Responder;
beforeAll(async () => {
  responder = await startResponder();
});
afterAll(async () => {
  await responder.node.stop();
});

describe("kept heads and the transport's budget", () => {
  it("a peer's repeated heads are counted while its connection is open, and given back when it closes", async () => {
    const heads = Array.from({ length: 100 }, (_, i) =>
      frame(encodeEnvelope(new LocalMessage(new Route([new Address(0, `nobody-${i}`)]), new Route([new Address(0, "r")]), new Uint8Array(0)), "network")),
    );
    const raw = await rawClient(responder.listener.address);
    raw.write(Buffer.concat([Buffer.of(PROTOCOL_VERSION, 0, 0, 0, 0), ...heads, ...heads]));
    const deadline = Date.now() + 10_000;
    while (responder.tcp.keptHeadBytes === undefined || responder.tcp.keptHeadBytes < 100 * 300) {
      if (Date.now() > deadline) throw new Error(`kept ${String(responder.tcp.keptHeadBytes)} bytes`);
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(responder.tcp.keptHeadBytes).toBeLessThanOrEqual(KEPT_HEADS_BUDGET);
    raw.end();
    await closed(raw);
    while (responder.tcp.keptHeadBytes > 0) {
      if (Date.now() > deadline) throw new Error(`still ${responder.tcp.keptHeadBytes} bytes after the close`);
      await new Promise((r) => setTimeout(r, 20));
    }
  });
});
