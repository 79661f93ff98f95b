import { describe, expect, it } from "vitest";
import { once } from "node:events";
import { createServer, type Server, type Socket } from "node:net";
import { Address, LocalMessage, Route, encodeEnvelope, type Node } from "@hopwire/runtime";
import { PROTOCOL_VERSION, TcpListenerOptions } from "@hopwire/transport-tcp";
import { closeAfterEach, frame, helloBytes, rawClient, startNode } from "./support.js";

// Default limits (sendHighWaterMark 1 MiB, maxSendBufferBytes 32 MiB). Several accepted connections
// that route straight into one next hop (as initiators' records go to a registrant's connection at a
// relay node) each pause once it is full, but each may land one maximum-size frame first: the hard
// bound refuses the one that would pass it (BackpressureError); the next hop stays open, and so do
// the feeders (the next-hop rule closes them with it).
const patientLiveness = { firstFrameTimeout: 600_000, peerTimeout: 600_000 };
const { nodes, servers, sockets } = closeAfterEach();

describe("hard bound with several network feeders of one next hop", () => {
  it("three peers' 15 MiB frames to a next hop that reads nothing do not close it", async () => {
    const server = createServer({ pauseOnConnect: true }, (s) => {
      sockets.push(s);
      s.on("error", () => {});
      s.write(helloBytes());
    });
    servers.push(server);
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const port = (server.address() as { port: number }).port;

    const middle = await startNode("middle", patientLiveness);
    nodes.push(middle.node);
    const next = await middle.tcp.connect(`127.0.0.1:${port}`);
    const listener = await middle.tcp.listen("127.0.0.1:0", new TcpListenerOptions());
    // What a relay's grant does: the listener's connections may route to the next hop by its address.
    middle.node.flowControls.addConsumer(next.address, listener.flowControlId);

    const body = new Uint8Array(15 * 1024 * 1024);
    const bytes = Buffer.concat([Buffer.of(PROTOCOL_VERSION), frame(encodeEnvelope(new LocalMessage(new Route([next.address, new Address(0, "x")]), Route.EMPTY, body), "network"))]);
    for (let i = 0; i < 3; i++) {
      const raw = await rawClient(listener.address, false);
      sockets.push(raw);
      raw.write(bytes);
      await new Promise((r) => setTimeout(r, 300));
    }
    await new Promise((r) => setTimeout(r, 500));
    expect(middle.log.matching(/SendBufferBudgetError/)).toEqual([]);
    expect(next.state).toBe("open");
    expect(listener.connections.length).toBe(3);
  });
});
