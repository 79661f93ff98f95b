import { afterEach, describe, expect, it } from "vitest";
import { createServer, connect, type Server, type Socket } from "node:net";
import { route, type Node, type Route } from "@hopwire/runtime";
import type { SecureChannel } from "@hopwire/secure-channel";
import { channelToWorker, Counter } from "./channel-to-worker.js";
import { eventually } from "../../../test/support/eventually.js";

// A loop that names its route for each send (`ctx.send(route(channel, "sink"), …)`, the
// usual way to write it), or builds a new route object each time, must cost the wire what a
// loop that keeps one route object costs: the channel repeats a stream's head when the
// routes are equal, not only when they are the same objects. Measured on the wire: a plain TCP forwarder between the nodes counts the
// bytes alice sends.
const nodes: Node[] = [];
const servers: Server[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.stop()));
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

/** A TCP forwarder to `port` on loopback that counts the bytes going towards it; its address and the count. */
async function countingForwarder(port: number): Promise<{ address: string; bytesOut: () => number }> {
  let bytes = 0;
  const server = createServer((inbound) => {
    const outbound = connect(port, "127.0.0.1");
    sockets.push(inbound, outbound);
    inbound.on("data", (chunk: Buffer) => (bytes += chunk.length));
    inbound.pipe(outbound).pipe(inbound);
    inbound.on("error", () => outbound.destroy());
    outbound.on("error", () => inbound.destroy());
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { address: `127.0.0.1:${(server.address() as { port: number }).port}`, bytesOut: () => bytes };
}

/** Sends `count` payloads of `size` bytes to "sink" through `channel`, the route from `to()` each time, at the channel's pace. */
async function stream(alice: Node, channel: SecureChannel, to: () => Route, count: number, size: number): Promise<void> {
  const payload = new Uint8Array(size).fill(0x5a);
  for (let i = 0; i < count; i++) {
    if (channel.needsDrain) await channel.waitForDrain();
    const where = to();
    if (!alice.trySend(where, payload)) await alice.send(where, payload);
  }
}

describe("a stream through a secure channel whose route is built for each send", () => {
  it("costs the wire what one route object costs: the head is repeated, not sent with every message", async () => {
    const sink = new Counter();
    let forwarder!: Awaited<ReturnType<typeof countingForwarder>>;
    const connectVia = async (listener: string): Promise<string> => (forwarder = await countingForwarder(Number(listener.split(":").pop()))).address;
    const { alice, channel } = await channelToWorker(nodes, "sink", sink, undefined, { connectVia });

    // A channel's route is one object, so route(channel, "sink") in a loop makes no route per send.
    expect(channel.route).toBe(channel.route);
    expect(route(channel, "sink")).toBe(route(channel, "sink"));

    const n = 20_000;
    const size = 16;
    const kept = route(channel, "sink");
    let before = forwarder.bytesOut();
    await stream(alice, channel, () => kept, n, size);
    await eventually(() => sink.count === n, 30_000, `the sink to count ${n}`);
    const oneRoute = forwarder.bytesOut() - before;

    // Named in the loop, as it is usually written (route() hands back one object while the loop repeats it).
    before = forwarder.bytesOut();
    await stream(alice, channel, () => route(channel, "sink"), n, size);
    await eventually(() => sink.count === 2 * n, 30_000, `the sink to count ${2 * n}`);
    const namedPerSend = forwarder.bytesOut() - before;

    // A new route object with the same hops each send: the channel compares hops.
    before = forwarder.bytesOut();
    await stream(alice, channel, () => route([channel, "sink"]), n, size);
    await eventually(() => sink.count === 3 * n, 30_000, `the sink to count ${3 * n}`);
    const newPerSend = forwarder.bytesOut() - before;

    // A head (onward route, alice's 32-character return address) is ~50 bytes: with one per
    // message a stream would take more than twice the first one's bytes.
    expect(oneRoute).toBeLessThan(n * (size + 12));
    expect(namedPerSend).toBeLessThan(oneRoute * 1.1);
    expect(newPerSend).toBeLessThan(oneRoute * 1.1);
  });
});
