import { describe, expect, it } from "vitest";
import { FlowControlDeniedError, FlowControls, LocalMessage, RouteMemo, Router, UnknownAddressError, encodeBody, route, type Mailbox } from "@hopwire/runtime";
import { Address } from "@hopwire/runtime";

// A RouteMemo keeps the router's verdict for a stream's next hop only while nothing that
// decides it changed: each change below must reach the very next message.

function mailbox(address: string): Mailbox & { got: LocalMessage[] } {
  const got: LocalMessage[] = [];
  return { address: Address.parse(address), got, deliver: (m) => void got.push(m) };
}

function setup() {
  const fc = new FlowControls();
  const router = new Router(fc);
  const id = fc.generateId();
  fc.addProducer("receiver", id);
  const sink = mailbox("sink");
  router.register([sink.address], sink);
  fc.addConsumer("sink", id);
  const memo = new RouteMemo(router, "receiver");
  // One message object, as a stream's repeated head gives one route object.
  const message = new LocalMessage(route("sink"), route("peer"), encodeBody("x"));
  return { fc, router, id, sink, memo, message };
}

/** setup() plus a second consumer, "other", and a message to it: a sender that alternates between two next hops. */
function setupWithOther() {
  const base = setup();
  const other = mailbox("other");
  base.router.register([other.address], other);
  base.fc.addConsumer("other", base.id);
  const toOther = new LocalMessage(route("other"), route("peer"), encodeBody("y"));
  return { ...base, other, toOther };
}

describe("RouteMemo", () => {
  it("delivers a stream's messages to the mailbox the router chose", () => {
    const { sink, memo, message } = setup();
    for (let i = 0; i < 3; i++) expect(memo.route(message)).toBe(sink);
    expect(sink.got).toHaveLength(3);
    expect(memo.peek(message.onwardRoute.next())).toBe(sink);
  });

  it("names a known next hop's mailbox as one to lend bytes to only if it copies on deliver and has room", () => {
    const { sink, memo, message } = setup();
    const next = message.onwardRoute.next();
    expect(memo.copyingMailbox(next)).toBeUndefined(); // not routed yet: the memo knows nothing
    memo.route(message);
    expect(memo.copyingMailbox(next)).toBeUndefined(); // keeps what it is given
    const copying = sink as Mailbox & { copiesOnDeliver?: boolean; isFull?: boolean };
    copying.copiesOnDeliver = true;
    expect(memo.copyingMailbox(next)).toBe(sink);
    copying.isFull = true;
    expect(memo.copyingMailbox(next)).toBeUndefined();
    expect(memo.copyingMailbox(undefined)).toBeUndefined();
  });

  it("follows a mailbox that replaced the last one at the same address", () => {
    const { fc, id, router, sink, memo, message } = setup();
    memo.route(message);
    router.unregister([sink.address]);
    expect(memo.peek(message.onwardRoute.next())).toBeUndefined();
    // Unregistering forgot the consumer too: a denial, as for any address nobody has.
    expect(() => memo.route(message)).toThrow(FlowControlDeniedError);
    const replacement = mailbox("sink");
    router.register([replacement.address], replacement);
    fc.addConsumer("sink", id);
    expect(memo.route(message)).toBe(replacement);
    expect(sink.got).toHaveLength(1);
    expect(replacement.got).toHaveLength(1);
  });

  it("stops delivering as soon as flow controls stop allowing it", () => {
    const { fc, id, sink, memo, message } = setup();
    memo.route(message);
    fc.removeConsumer("sink", id);
    expect(() => memo.route(message)).toThrow(FlowControlDeniedError);
    fc.addConsumer("sink", id);
    memo.route(message);
    fc.removeFlow(id);
    expect(() => memo.route(message)).toThrow(FlowControlDeniedError);
    expect(sink.got).toHaveLength(2);
  });

  it("keeps nothing for a hop on a transport (it routes as the transport says each time)", () => {
    const { fc, router, sink } = setup();
    let calls = 0;
    router.registerTransport(1, () => {
      calls++;
      return sink;
    });
    const memo = new RouteMemo(router, undefined);
    expect(() => memo.route(new LocalMessage(route("nobody"), route("app"), encodeBody("x")))).toThrow(UnknownAddressError);
    const remote = new LocalMessage(route("1#127.0.0.1:1"), route("app"), encodeBody("x"));
    memo.route(remote);
    memo.route(remote);
    expect(calls).toBe(2);
    expect(memo.peek(remote.onwardRoute.next())).toBeUndefined();
    expect(fc.version).toBeGreaterThan(0);
  });

  it("remembers alternating next hops (round-robin over many channels) from their second routing on", () => {
    const { router, sink, memo, message, other, toOther } = setupWithOther();
    let asked = 0;
    const route0 = router.route.bind(router);
    router.route = (m, key) => (asked++, route0(m, key));
    for (let i = 0; i < 5; i++) {
      expect(memo.route(message)).toBe(sink);
      expect(memo.route(toOther)).toBe(other);
    }
    expect(asked).toBe(4); // twice per hop: a hop routed once (a reply address) is not kept
    expect(memo.peek(message.onwardRoute.next())).toBe(sink);
    expect(memo.peek(toOther.onwardRoute.next())).toBe(other);
    expect(sink.got).toHaveLength(5);
    expect(other.got).toHaveLength(5);
  });

  it("remembers at most maxRemembered hops besides the last, and its set of hops seen once is made anew as a peer's fresh hops pile up", () => {
    // A channel end's memo (maxRemembered 16): each head its peer sends decodes to new Address
    // objects, and up to 1,024 of them (with the weak set of those seen once) stayed with the
    // idle channel, ≈ 150 KiB (session 56). Its verdicts stay right past either bound.
    const { router, sink, fc, id } = setup();
    const hops = Array.from({ length: 40 }, (_, i) => {
      const box = mailbox(`w${i}`);
      router.register([box.address], box);
      fc.addConsumer(`w${i}`, id);
      return box;
    });
    const memo = new RouteMemo(router, "receiver", 2);
    expect(memo.maxRemembered).toBe(2);
    let asked = 0;
    const route0 = router.route.bind(router);
    router.route = (m, key) => (asked++, route0(m, key));
    // Three hops, each message a fresh route (as decoded), each head routed in turn: one more than it remembers.
    const messages = [0, 1, 2].map((i) => new LocalMessage(route(`w${i}`), route("peer"), encodeBody(i)));
    for (let round = 0; round < 4; round++) for (const m of messages) expect(memo.route(m)).toBe(hops[messages.indexOf(m)]);
    expect(asked).toBeGreaterThan(6); // with room for 2 besides the last, 3 alternating hops keep going to the router
    // Fresh hops each routed once, past 4 × maxRemembered: still delivered right, then a known one is kept again from its second routing.
    for (let i = 0; i < 40; i++) expect(memo.route(new LocalMessage(route(`w${i}`), route("peer"), encodeBody(i)))).toBe(hops[i]);
    const again = new LocalMessage(route("sink"), route("peer"), encodeBody("z"));
    memo.route(again);
    memo.route(messages[0]!);
    memo.route(again);
    expect(memo.peek(again.onwardRoute.next())).toBe(sink);
    expect(sink.got).toHaveLength(2);
  });

  it("keeps no hop it routed only once (each sendAndReceive has a reply address of its own)", () => {
    const { memo, message, toOther } = setupWithOther();
    memo.route(toOther);
    memo.route(message);
    expect(memo.peek(toOther.onwardRoute.next())).toBeUndefined();
  });

  it("takes an equal local next hop in a new Address object (a freshly decoded route) as the last one", () => {
    const { router, sink, memo, message } = setup();
    let asked = 0;
    const route0 = router.route.bind(router);
    router.route = (m, key) => (asked++, route0(m, key));
    memo.route(message);
    const decoded = new LocalMessage(route(new Address(0, "sink")), route("peer"), encodeBody("x"));
    expect(decoded.onwardRoute.next()).not.toBe(message.onwardRoute.next());
    expect(memo.route(decoded)).toBe(sink);
    expect(memo.peek(new Address(0, "sink"))).toBe(sink);
    expect(asked).toBe(1);
    // Equal values on another transport are another address.
    expect(memo.peek(new Address(1, "sink"))).toBeUndefined();
  });

  it("keeps its verdicts while requests come and go (a reply address registered, made a consumer, unregistered)", () => {
    const { fc, id, router, sink, memo, message } = setup();
    memo.route(message);
    const epoch = router.epoch;
    const got: LocalMessage[] = [];
    const reply: Mailbox = { address: Address.parse("reply1"), shortLived: true, deliver: (m) => void got.push(m) };
    router.register1(reply.address, reply);
    fc.addConsumer("reply1", id);
    const toReply = new LocalMessage(route("reply1"), route("peer"), encodeBody("r"));
    expect(memo.route(toReply)).toBe(reply);
    router.unregister1(reply.address);
    expect(router.epoch).toBe(epoch);
    // The stream's hop is still kept; the reply address, never kept, is refused as any address nobody has.
    expect(memo.peek(message.onwardRoute.next())).toBe(sink);
    expect(() => memo.route(toReply)).toThrow(FlowControlDeniedError);
    expect(got).toHaveLength(1);
    // An address that is not short-lived does change it when it goes.
    router.unregister1(sink.address);
    expect(router.epoch).not.toBe(epoch);
    expect(() => memo.route(message)).toThrow(FlowControlDeniedError);
  });

  it("asks whether an equal next hop is full as it would for the same object (routeUnlessFull)", () => {
    const { router, sink, memo, message } = setup();
    let asked = 0;
    const route0 = router.route.bind(router);
    router.route = (m, key) => (asked++, route0(m, key));
    const full = sink as Mailbox & { isFull?: boolean; onRoom?: (wake: () => void) => () => void };
    full.onRoom = () => () => {};
    expect(memo.routeUnlessFull(message)).toBe(true);
    const decoded = new LocalMessage(route(new Address(0, "sink")), route("peer"), encodeBody("x"));
    full.isFull = true;
    expect(memo.routeUnlessFull(decoded)).toBe(false);
    full.isFull = false;
    expect(memo.routeUnlessFull(decoded)).toBe(true);
    expect(asked).toBe(1);
    expect(sink.got).toHaveLength(2);
  });

  it("keeps nothing for a key registered short-lived at a mailbox that serves others (a thread's request), and lets it go without a new epoch", () => {
    const { fc, id, router, sink, memo, message } = setup();
    memo.route(message);
    const thread = mailbox("thread");
    router.register1(thread.address, thread);
    fc.addConsumer("thread", id);
    const request = Address.parse("request1");
    router.register1(request, thread, true);
    fc.addConsumer("request1", id);
    const epoch = router.epoch;
    const toRequest = new LocalMessage(route(request), route("peer"), encodeBody("r"));
    expect(memo.route(toRequest)).toBe(thread);
    expect(memo.peek(request)).toBeUndefined();
    expect(memo.peek(message.onwardRoute.next())).toBe(sink);
    router.unregister1(request);
    expect(router.epoch).toBe(epoch);
    expect(() => memo.route(toRequest)).toThrow(FlowControlDeniedError);
    expect(thread.got).toHaveLength(1);
    // The thread's own address is not short-lived: kept, and its going changes the epoch.
    expect(router.isShortLived("thread", thread)).toBe(false);
    router.unregister1(thread.address);
    expect(router.epoch).not.toBe(epoch);
  });

  it("keeps no verdict for a short-lived key that its delivery unregistered (the mark went with it)", () => {
    const { fc, id, router } = setup();
    const request = Address.parse("request2");
    const got: LocalMessage[] = [];
    const thread: Mailbox = {
      address: Address.parse("thread2"),
      deliver(m) {
        got.push(m);
        if (m.onwardRoute.next().key === "request2" && router.has(request)) router.unregister1(request);
      },
    };
    router.register1(thread.address, thread);
    fc.addConsumer("thread2", id);
    router.register1(request, thread, true);
    fc.addConsumer("request2", id);
    const memo = new RouteMemo(router, "receiver");
    expect(memo.route(new LocalMessage(route(request), route("peer"), encodeBody("reply")))).toBe(thread);
    expect(memo.peek(request)).toBeUndefined();
    expect(() => memo.route(new LocalMessage(route(request), route("peer"), encodeBody("late")))).toThrow(FlowControlDeniedError);
    expect(got).toHaveLength(1);
  });

  it("changes the epoch when a short-lived address that is also a producer goes", () => {
    const { fc, router } = setup();
    const reply: Mailbox = { address: Address.parse("reply2"), shortLived: true, deliver() {} };
    router.register1(reply.address, reply);
    fc.addProducer("reply2", fc.generateId());
    const epoch = router.epoch;
    router.unregister1(reply.address);
    expect(router.epoch).not.toBe(epoch);
    expect(fc.isProducerKey("reply2")).toBe(false);
  });

  it("makes a sender a consumer of a producer again after the grant was withdrawn, though its memo kept the hop", () => {
    const { fc, router } = setup();
    const connFlow = fc.generateId();
    const conn: Mailbox = { address: Address.parse("conn"), deliver() {} };
    router.register1(conn.address, conn);
    fc.addProducer("conn-receiver", connFlow, undefined, ["conn"]);
    const app = mailbox("app");
    router.register1(app.address, app);
    const appMemo = new RouteMemo(router, "app");
    const toConn = new LocalMessage(route("conn"), route("app"), encodeBody("q"));
    appMemo.route(toConn);
    expect(fc.isAllowed("conn-receiver", "app")).toBe(true); // sending into a producer lets its replies come back
    fc.removeConsumer("app", connFlow);
    appMemo.route(toConn);
    expect(fc.isAllowed("conn-receiver", "app")).toBe(true);
    fc.removeFlow(connFlow);
    appMemo.route(toConn);
    expect(fc.isAllowed("conn-receiver", "app")).toBe(true);
  });

  it("forgets every remembered hop, not only the last, when flow controls change", () => {
    const { fc, id, sink, memo, message, other, toOther } = setupWithOther();
    for (const m of [message, toOther, message, toOther, message]) memo.route(m);
    expect(memo.peek(toOther.onwardRoute.next())).toBe(other); // a remembered hop, not the last one
    fc.removeConsumer("other", id);
    expect(memo.peek(toOther.onwardRoute.next())).toBeUndefined();
    expect(() => memo.route(toOther)).toThrow(FlowControlDeniedError);
    expect(memo.route(message)).toBe(sink);
    expect(other.got).toHaveLength(2);
  });
});
