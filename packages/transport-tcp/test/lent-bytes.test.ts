import { afterEach, describe, expect, it } from "vitest";
import { route, type Node } from "@hopwire/runtime";
import type { TcpConnection } from "@hopwire/transport-tcp";
import { startNode, startResponder } from "./support.js";
import { sendReusingOneBuffer, streamFromThread, UniformChecker } from "../../../test/support/uniform-checker.js";

// A send whose first hop is a connection lends it the caller's bytes: the connection copies
// them into its write buffer before `send` returns (Mailbox.deliverBytes), instead of the
// send copying them into a fresh buffer first. Either way the caller may reuse its buffer
// as soon as `send` returns: these fill ONE buffer again after every send.
//
// From a worker on a thread of its own, the main thread reads the thread's batches with their
// payloads lent (Mailbox.deliverLent): the connection copies each into its write buffer before
// it returns, so the batch goes back to the thread, which writes its next batches into it. A
// batch given back while anything still viewed it would be written over (or, transferred,
// emptied) under that view: every body must arrive intact, once, in order — including those
// the connection would otherwise write from a view (≥ 4 KiB) and those past its arena (70,000 B).

const nodes: Node[] = [];
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.stop()));
});

/** A bin8 body copied next to its head anyway, one the writer would otherwise pass on as a view, one with a bin32 header (larger than an arena). */
const SIZES = [64, 5000, 70_000];
/** A multiple of 256 (the checker expects body i to be filled with i & 0xff). */
const COUNT = 512;

/** Node "a" connected to node "b", whose checker (placed "main") takes messages from the connection. */
async function connectedToChecker(): Promise<{ a: Node; checker: UniformChecker; connection: TcpConnection }> {
  const b = await startNode("b");
  nodes.push(b.node);
  const checker = new UniformChecker();
  await b.node.startWorker("checker", checker, { placement: "main" });
  const listener = await b.tcp.listen("127.0.0.1:0");
  b.node.flowControls.addConsumer("checker", listener.flowControlId);
  // A small high-water mark: the connection fills, and the sends behind it (or the reading of a thread's batches) wait.
  const a = await startNode("a", { sendHighWaterMark: 256 * 1024 });
  nodes.push(a.node);
  return { a: a.node, checker, connection: await a.tcp.connect(listener.address) };
}

describe("a bytes body sent into a connection is the caller's to reuse as soon as send returns", () => {
  for (const awaitEach of [true, false]) {
    it(awaitEach ? "each send awaited: lent to the connection, copied once into its write buffer" : "sends not awaited (some wait for room): bodies intact", async () => {
      const { a, checker, connection } = await connectedToChecker();
      const mailbox = a.router.mailboxOf(connection.address)!;
      const sent = await sendReusingOneBuffer((to, body) => a.send(to, body), route(connection, "checker"), mailbox, checker, { sizes: SIZES, count: COUNT, awaitEach });
      expect(sent.reports).toEqual(SIZES.map((_, k) => ({ count: (k + 1) * COUNT, bad: 0 })));
      // Awaited, every send that found room went through deliverBytes, but for the first two (the route learns its
      // mailbox, and the first send's routing changes the router's epoch once: RouteMemo); a send that found the first
      // hop full waited, with its own copy.
      if (awaitEach) {
        expect(sent.lendable).toBeGreaterThan(COUNT);
        expect(sent.lent).toBeGreaterThanOrEqual(sent.lendable - 2);
      }
    }, 60_000);
  }
});

describe("a bytes body given to sendAndReceive into a connection is the caller's to reuse as soon as the call returns", () => {
  it("is lent (no copy of its own) while the connection has room, and every reply comes back intact", async () => {
    const b = await startResponder("b");
    nodes.push(b.node);
    const a = await startNode("a");
    nodes.push(a.node);
    const connection = await a.tcp.connect(b.listener.address);
    // What each request was routed as: its body's bytes as parts (the caller's, lent) or a payload of its own.
    const lent: boolean[] = [];
    const router = a.node.router;
    const routeMessage = router.route.bind(router);
    router.route = (message, senderKey, lentFlag) => {
      // The requests (into the connection), not the replies (from it).
      if (message.onwardRoute.next().key === connection.address.key) lent.push(message.parts !== undefined && lentFlag === true);
      return routeMessage(message, senderKey, lentFlag);
    };
    const buffer = new Uint8Array(70_000);
    let requests = 0;
    for (const size of SIZES) {
      for (let i = 0; i < 16; i++, requests++) {
        const body = buffer.subarray(0, size).fill(i);
        const reply = a.node.sendAndReceive<Uint8Array>(route(connection, "echoer"), body);
        body.fill(0xee); // the caller's again
        const echoed = await reply;
        expect(echoed.length).toBe(size);
        expect(echoed.every((byte) => byte === i)).toBe(true);
      }
    }
    expect(lent).toEqual(new Array<boolean>(requests).fill(true));
  }, 60_000);
});

describe("a thread's batches go back to it once the main thread has copied them into a connection", () => {
  for (const awaitEach of [true, false]) {
    it(`${awaitEach ? "each send awaited" : "sends not awaited"}: every body intact, in order, and batches given back`, async () => {
      const { a, checker, connection } = await connectedToChecker();
      // Twice the bodies: several 1 MiB batches at 5,000 B.
      const { reports, givenBack, reused } = await streamFromThread(a, route(connection, "checker"), checker, { sizes: SIZES, count: 2 * COUNT, awaitEach });
      expect(reports).toEqual(SIZES.map((_, k) => ({ count: (k + 1) * 2 * COUNT, bad: 0 })));
      expect(givenBack).toBeGreaterThan(0);
      // ...and the thread wrote later batches into them.
      expect(reused).toBeGreaterThan(0);
    }, 120_000);
  }
});
