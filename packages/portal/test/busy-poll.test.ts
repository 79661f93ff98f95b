// A portal stream's writes to the application's socket are hand-offs too (NodeOptions.busyPollMicros):
// the stream calls its owner's afterHandOff after each DATA it writes there, and an inlet or outlet
// hands on its node's.
import { once } from "node:events";
import { createServer, connect, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { LocalMessage, node, route, type Node } from "@hopwire/runtime";
import { createInlet, createOutlet } from "@hopwire/portal";
import { PortalStream } from "../dist/stream/portal-stream.js";
import { WindowGrowth } from "../dist/stream/window-growth.js";
import { Lingering } from "../dist/stream/lingering.js";
import { encodeDataParts } from "../dist/protocol/messages.js";
import { eventually } from "../../../test/support/eventually.js";

const nodes: Node[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(nodes.splice(0).map((n) => n.stop()));
});

/** Two ends of a real loopback TCP connection. */
async function socketPair(): Promise<[Socket, Socket]> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as { port: number };
  const accepted = once(server, "connection");
  const client = connect(port, "127.0.0.1");
  const [serverSide] = (await accepted) as [Socket];
  server.close();
  sockets.push(client, serverSide);
  return [serverSide, client];
}

describe("a portal stream and busy polling", () => {
  it("calls its owner's afterHandOff after writing the peer's DATA to its socket", async () => {
    const n = await node({ warnings: false });
    nodes.push(n);
    let handOffs = 0;
    const owner = {
      router: n.router,
      log: n.log,
      windowGrowth: new WindowGrowth(1024 * 1024),
      lingering: new Lingering(n.router, 8),
      afterHandOff: () => handOffs++,
      streamClosed: () => {},
    };
    const [ours, application] = await socketPair();
    const stream = new PortalStream(owner, ours, 64 * 1024, 64 * 1024);
    const received: Buffer[] = [];
    application.on("data", (chunk: Buffer) => received.push(chunk));
    stream.deliver(LocalMessage.fromParts(route(stream.address), route("peer"), encodeDataParts(Buffer.from("hello"))));
    // Written at the turn's end (a turn's DATA in one write), and handed off then.
    await eventually(() => Buffer.concat(received).toString() === "hello");
    expect(handOffs).toBe(1);
  });

  it("an inlet and an outlet hand their streams their node's afterHandOff: there with the option, absent without", async () => {
    const polling = await node({ warnings: false, busyPollMicros: 150 });
    const quiet = await node({ warnings: false });
    nodes.push(polling, quiet);
    const withPolling = await createOutlet(polling, { to: "127.0.0.1:9", address: "outlet" });
    const without = await createOutlet(quiet, { to: "127.0.0.1:9", address: "outlet" });
    expect(withPolling.afterHandOff).toBe(polling.afterHandOff);
    expect(typeof withPolling.afterHandOff).toBe("function");
    expect(without.afterHandOff).toBeUndefined();
    const inlet = await createInlet(polling, { listen: "127.0.0.1:0", route: route("outlet") });
    const quietInlet = await createInlet(quiet, { listen: "127.0.0.1:0", route: route("outlet") });
    expect(inlet.afterHandOff).toBe(polling.afterHandOff);
    expect(quietInlet.afterHandOff).toBeUndefined();
    await inlet.stop();
    await quietInlet.stop();
  });
});
