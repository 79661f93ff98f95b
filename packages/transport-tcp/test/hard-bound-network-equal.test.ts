import { afterEach, describe, expect, it } from "vitest";
import { Address, LocalMessage, Route, encodeEnvelope, route, startRelay, type Context, type Node, type Routed } from "@hopwire/runtime";
import { PROTOCOL_VERSION, TcpListenerOptions } from "@hopwire/transport-tcp";
import type { Socket } from "node:net";
import { frame, rawClient, startNode, startResponder } from "./support.js";


// docs/transport-tcp.md, Backpressure 4: maxSendBufferBytes may be set equal to sendHighWaterMark;
// a message that would cross it is refused (BackpressureError), the connection stays. Here an
// ordinary middle node (startRelay, no relay service) forwards echoes back to an initiator that
// reads slowly: the rest of one socket read of echoes overshoots the mark.
const patientLiveness = { firstFrameTimeout: 600_000, peerTimeout: 600_000 };
const nodes: Node[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(nodes.splice(0).map((n) => n.stop()));
});

describe("hard bound with maxSendBufferBytes = sendHighWaterMark on a plain relay node", () => {
  it("echoes routed back connection to connection past the bound do not close the initiator's connection", async () => {
    const responder = await startResponder("responder");
    // Answers one request with 1024 messages of 16 KiB, each waiting for room (an ordinary sender).
    await responder.node.startWorker("blaster", { async handleMessage(ctx: Context, m: Routed) { for (let i = 0; i < 1024; i++) await ctx.send(m.returnRoute, new Uint8Array(16 * 1024)); } }, { placement: "main" });
    responder.node.flowControls.addConsumer("blaster", responder.listener.flowControlId);
    const middle = await startNode("middle", { sendHighWaterMark: 64 * 1024, maxSendBufferBytes: 64 * 1024, ...patientLiveness });
    nodes.push(responder.node, middle.node);
    const toResponder = await middle.tcp.connect(responder.listener.address);
    await startRelay(middle.node, "fwd", route(toResponder));
    const listener = await middle.tcp.listen("127.0.0.1:0", new TcpListenerOptions());
    middle.node.flowControls.addConsumer("fwd", listener.flowControlId);

    const raw = await rawClient(listener.address, false); // reads (and drops) all it gets
    sockets.push(raw);
    const m = new LocalMessage(new Route([new Address(0, "fwd"), new Address(0, "blaster")]), new Route([new Address(0, "raw")]), new Uint8Array(1));
    raw.write(Buffer.concat([Buffer.of(PROTOCOL_VERSION), frame(encodeEnvelope(m, "network"))]));
    for (let i = 0; i < 30 && listener.connections[0]?.state === "open" && middle.log.matching(/paused reading/).length < 3; i++) await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 500));
    const accepted = listener.connections[0];
    const closures = middle.log.matching(/SendBufferBudgetError/);
    expect(closures).toEqual([]);
    expect(accepted?.state).toBe("open");
  });
});
