// The listener's handshake slots: first messages queue per connection and start round-robin,
// per-connection caps, fair sharing of the listener's slots when it is full, queues and slots
// freed when a connection goes away. Pure state: test/handshake-flood.test.ts runs the real
// thing over TCP.
import { describe, expect, it } from "vitest";
import { InvalidOptionError, MAX_ROUTE_LENGTH, route } from "@hopwire/runtime";
import {
  DEFAULT_HANDSHAKE_LIMITS,
  HandshakeSlots,
  QUEUED_ADDRESS_OVERHEAD,
  QUEUED_FIRST_MESSAGE_OVERHEAD,
  queuedFirstMessageBytes,
  validateHandshakeLimits,
} from "../dist/listener/handshake-limits.js";

function slots(limits: Partial<typeof DEFAULT_HANDSHAKE_LIMITS>) {
  const watched: string[] = [];
  const unwatched: string[] = [];
  const s = new HandshakeSlots<string, string>(validateHandshakeLimits(limits));
  let n = 0;
  /** Queues a first message from `key`; returns its name, or undefined if dropped. */
  const offer = (key: string, now = 0): string | undefined => {
    const message = `${key}:${n++}`;
    const accepted = s.offer(key, message, now, () => {
      watched.push(key);
      return () => unwatched.push(key);
    });
    return accepted ? message : undefined;
  };
  /** Starts every handshake that may start now, as the listener does; returns the messages started (and evictions). */
  const startAll = (): { started: string[]; evicted: string[] } => {
    const started: string[] = [];
    const evicted: string[] = [];
    for (let start = s.next(); start; start = s.next()) {
      s.add(start.connection, start.message); // the started handshake is named after its message
      started.push(start.message);
      if (start.evict) evicted.push(`${start.evict.item}<-${start.evict.connection}`);
    }
    return { started, evicted };
  };
  return { s, offer, startAll, watched, unwatched };
}

describe("handshake limits", () => {
  it("defaults are the documented ones", () => {
    expect(DEFAULT_HANDSHAKE_LIMITS).toEqual({
      maxPending: 4096,
      maxPendingPerConnection: 1024,
      maxQueuedPerConnection: 1024,
      maxQueuedBytesPerConnection: 1024 * 1024,
      refusalsPerSecondPerConnection: 10,
    });
  });

  it("first messages start round-robin: a connection that queued many does not delay one that queued one", () => {
    const { s, offer } = slots({});
    for (let i = 0; i < 100; i++) offer("flood");
    offer("honest");
    const first = [s.next()!.message, s.next()!.message, s.next()!.message];
    expect(first).toEqual(["flood:0", "honest:100", "flood:1"]);
  });

  it("one connection holds at most maxPendingPerConnection started handshakes; the rest wait, then start as slots free", () => {
    const { s, offer, startAll } = slots({ maxPending: 100, maxPendingPerConnection: 4 });
    for (let i = 0; i < 10; i++) offer("bulk");
    offer("honest");
    const { started } = startAll();
    expect(started.filter((m) => m.startsWith("bulk"))).toHaveLength(4);
    expect(started).toContain("honest:10");
    expect(s.pending).toBe(5);
    expect(s.queued).toBe(6);
    s.release("bulk", "bulk:0"); // finished
    expect(startAll().started).toEqual(["bulk:4"]); // in order, nothing dropped
  });

  it("past maxQueuedPerConnection a connection's first messages are dropped; other connections still queue", () => {
    const { s, offer } = slots({ maxQueuedPerConnection: 3 });
    expect([offer("flood"), offer("flood"), offer("flood")]).not.toContain(undefined);
    expect(offer("flood")).toBeUndefined();
    expect(offer("honest")).toBeDefined();
    expect(s.queued).toBe(4);
  });

  it("past maxQueuedBytesPerConnection a connection's first messages are dropped, as they are charged; started or dropped, they free their bytes", () => {
    const s = new HandshakeSlots<string, string>(validateHandshakeLimits({ maxQueuedBytesPerConnection: 100 }), (m) => m.length);
    const watch = () => () => {};
    expect(s.offer("big", "a".repeat(60), 0, watch)).toBe(true);
    expect(s.offer("big", "b".repeat(41), 0, watch)).toBe(false); // 101 bytes
    expect(s.offer("big", "c".repeat(40), 0, watch)).toBe(true); // exactly the bound
    expect(s.offer("big", "d", 0, watch)).toBe(false);
    expect(s.offer("other", "e".repeat(100), 0, watch)).toBe(true); // per connection
    // More than a whole queue: taken alone in an empty queue (a bound below one message's charge refused every handshake), nothing after it.
    expect(s.offer("huge", "f".repeat(101), 0, watch)).toBe(true);
    expect(s.offer("huge", "f", 0, watch)).toBe(false);
    expect(s.dropConnection("huge")).toEqual([]);
    expect([s.queued, s.queuedBytes, s.queuedBytesOf("big"), s.queuedBytesOf("huge")]).toEqual([3, 200, 100, 0]);
    expect(s.next()!.message).toBe("a".repeat(60)); // started: its bytes are free
    expect(s.queuedBytesOf("big")).toBe(40);
    expect(s.offer("big", "g".repeat(60), 0, watch)).toBe(true);
    expect(s.dropConnection("big")).toEqual([]);
    expect([s.queued, s.queuedBytes, s.queuedBytesOf("big")]).toEqual([1, 100, 0]);
    s.clear();
    expect([s.queued, s.queuedBytes]).toEqual([0, 0]);
  });

  it("a queued first message is charged its payload and its return route, two bytes a character, however the peer made the route", () => {
    const base = queuedFirstMessageBytes(route(), 33);
    expect(base).toBe(QUEUED_FIRST_MESSAGE_OVERHEAD + 33);
    expect(queuedFirstMessageBytes(route("a".repeat(32), "b".repeat(32)), 33)).toBe(base + 2 * (QUEUED_ADDRESS_OVERHEAD + 64));
    // As many hops as a route may have, each as long as an address may be in wide characters (341 × 3 bytes of
    // UTF-8, within MAX_ADDRESS_VALUE_BYTES): each charged at least what V8 keeps of it.
    const hops = Array.from({ length: MAX_ROUTE_LENGTH }, (_, i) => `${i}`.padEnd(341, "€"));
    expect(queuedFirstMessageBytes(route(...hops), 33)).toBe(base + MAX_ROUTE_LENGTH * (QUEUED_ADDRESS_OVERHEAD + 2 * 341));
    // The default bound holds 1 024 first messages over a direct connection, and over a few hops more.
    const typical = queuedFirstMessageBytes(route(...Array.from({ length: 5 }, () => "c".repeat(32))), 33);
    expect(1024 * typical).toBeLessThanOrEqual(DEFAULT_HANDSHAKE_LIMITS.maxQueuedBytesPerConnection);
  });

  it("when the listener is full, a connection with fewer started handshakes takes the oldest slot of the greediest, never the reverse", () => {
    const { s, offer, startAll } = slots({ maxPending: 8, maxPendingPerConnection: 8 });
    for (let i = 0; i < 20; i++) offer("flood");
    startAll();
    expect(s.pending).toBe(8);
    offer("honest");
    const { started, evicted } = startAll();
    expect(started).toEqual(["honest:20"]);
    expect(evicted).toEqual(["flood:0<-flood"]); // the oldest of the greediest
    expect(s.pending).toBe(8);
    // The flood holds 7 and the honest one 1: the flood's waiting messages may not take the honest slot.
    expect(startAll().started).toEqual([]);
    // Many connections, one started handshake each, cannot evict each other either.
    const many = slots({ maxPending: 4, maxPendingPerConnection: 4 });
    for (const key of ["a", "b", "c", "honest", "e"]) many.offer(key);
    expect(many.startAll().started).toEqual(["a:0", "b:1", "c:2", "honest:3"]);
    expect(many.s.queued).toBe(1);
  });

  it("a connection that goes away frees its slots and its queue and stops being watched; idle state is pruned", () => {
    const { s, offer, startAll, watched, unwatched } = slots({ maxPendingPerConnection: 4 });
    for (let i = 0; i < 10; i++) offer("flood");
    offer("honest");
    startAll();
    expect(watched).toEqual(["flood", "honest"]);
    expect(s.dropConnection("flood")).toHaveLength(4);
    expect(s.pending).toBe(1);
    expect(s.queued).toBe(0);
    expect(unwatched).toEqual(["flood"]);
    offer("quick", 0);
    startAll();
    s.release("quick", "quick:11");
    s.mayRefuse("quick", 0);
    s.prune(0); // its refusal budget is not back yet: kept
    expect(s.connections).toBe(2);
    s.prune(2_000);
    expect(s.connections).toBe(1); // "honest" still has a started handshake
    expect(unwatched).toEqual(["flood", "quick"]);
  });

  it("a connection at a channel limit gives its next first message up to be refused: no slot taken, no eviction, after its pending cap", () => {
    const { s, offer, startAll } = slots({ maxPending: 2, maxPendingPerConnection: 2 });
    for (let i = 0; i < 3; i++) offer("greedy");
    startAll();
    expect(s.pending).toBe(2);
    expect(s.pendingOf("greedy")).toBe(2);
    offer("limited");
    // "limited" holds none, so it would take the greediest's oldest slot; at its channel limit it is refused instead.
    const start = s.next((key) => key === "limited");
    expect(start).toEqual({ connection: "limited", peer: "", message: "limited:3", refused: true });
    expect(s.pending).toBe(2);
    expect(s.queued).toBe(1); // greedy's third, still waiting for a slot
    // A connection at its pending cap waits as before, whatever the channel limit says.
    expect(s.next(() => true)).toBeUndefined();
  });

  it("a refusal budget for a connection the slots do not know yet, with a watch", () => {
    const { s } = slots({ refusalsPerSecondPerConnection: 2 });
    let watches = 0;
    const watch = () => (watches++, () => {});
    expect([s.mayRefuse("new", 0, watch), s.mayRefuse("new", 0, watch), s.mayRefuse("new", 0, watch)]).toEqual([true, true, false]);
    expect(watches).toBe(1);
    expect(s.connections).toBe(1);
    s.prune(2_000);
    expect(s.connections).toBe(0);
  });

  it("refusals are rate-limited per connection", () => {
    const { s, offer } = slots({ refusalsPerSecondPerConnection: 3 });
    offer("flood");
    const allowed = Array.from({ length: 50 }, () => s.mayRefuse("flood", 0)).filter(Boolean).length;
    expect(allowed).toBe(3);
    expect(s.mayRefuse("unknown", 0)).toBe(false);
  });

  it("limits are validated", () => {
    expect(() => validateHandshakeLimits({ maxPending: 0 })).toThrow(InvalidOptionError);
    expect(() => validateHandshakeLimits({ maxPendingPerConnection: 1.5 })).toThrow(InvalidOptionError);
    expect(() => validateHandshakeLimits({ maxPending: 10, maxPendingPerConnection: 11 })).toThrow(InvalidOptionError);
    expect(() => validateHandshakeLimits({ startsPerSecond: 5 } as never)).toThrow(InvalidOptionError);
    expect(validateHandshakeLimits({ refusalsPerSecondPerConnection: 0 }).refusalsPerSecondPerConnection).toBe(0);
    expect(() => validateHandshakeLimits({ maxQueuedBytesPerConnection: 0 })).toThrow(InvalidOptionError);
    expect(() => validateHandshakeLimits({ maxQueuedBytesPerConnection: Number.POSITIVE_INFINITY })).toThrow(InvalidOptionError);
  });
});

describe("peers behind one connection (a node behind a relay: every relayed handshake comes through its channel to the relay node)", () => {
  /** Slots whose messages "peer/n" all come from connection "relay"; a message's peer is the part before its slash. */
  function relaySlots(limits: Partial<typeof DEFAULT_HANDSHAKE_LIMITS>) {
    const s = new HandshakeSlots<string, string>(validateHandshakeLimits(limits), () => 0, (message) => message.split("/")[0]!);
    let n = 0;
    const offer = (peer: string): string | undefined => {
      const message = `${peer}/${n++}`;
      return s.offer("relay", message, 0, () => () => {}) ? message : undefined;
    };
    const start = () => {
      const started = s.next();
      if (started && !started.refused) s.add(started.connection, started.message, started.peer);
      return started;
    };
    return { s, offer, start };
  }

  it("first messages start round-robin over the peers, not in arrival order", () => {
    const { offer, start } = relaySlots({});
    for (let i = 0; i < 100; i++) offer("flood");
    offer("honest");
    expect([start()!.message, start()!.message, start()!.message]).toEqual(["flood/0", "honest/100", "flood/1"]);
  });

  it("a full queue gives the newest of the peer holding most to a peer holding fewer; the peer holding most is dropped itself", () => {
    const { s, offer, start } = relaySlots({ maxQueuedPerConnection: 10 });
    for (let i = 0; i < 10; i++) expect(offer("flood")).toBeDefined();
    expect(offer("flood")).toBeUndefined();
    expect(offer("honest")).toBe("honest/11");
    expect([s.queued, s.displaced]).toEqual([10, 1]);
    const started: string[] = [];
    for (let next = start(); next; next = start()) started.push(next.message);
    expect(started).toEqual(["flood/0", "honest/11", "flood/1", "flood/2", "flood/3", "flood/4", "flood/5", "flood/6", "flood/7", "flood/8"]);
  });

  it("at the connection's started bound, a peer with two fewer started than the greediest takes that one's oldest slot", () => {
    const { s, offer, start } = relaySlots({ maxPendingPerConnection: 4 });
    for (let i = 0; i < 10; i++) offer("flood");
    for (let i = 0; i < 4; i++) expect(start()!.message).toBe(`flood/${i}`);
    expect(start()).toBeUndefined(); // only the flood waits, and it holds the bound
    offer("honest");
    expect(start()).toEqual({ connection: "relay", peer: "honest", message: "honest/10", evict: { item: "flood/0", connection: "relay" } });
    expect(s.pending).toBe(4);
  });

  it("at a channel limit, a peer with two fewer started than the greediest takes that one's oldest slot instead of being refused", () => {
    const { s, offer } = relaySlots({});
    for (let i = 0; i < 6; i++) offer("flood");
    for (let i = 0; i < 3; i++) {
      const started = s.next()!;
      s.add(started.connection, started.message, started.peer);
    }
    // The connection is at its channel limit (maxChannelsPerConnection counts started handshakes too).
    const atLimit = () => true;
    expect(s.next(atLimit)).toEqual({ connection: "relay", peer: "flood", message: "flood/3", refused: true });
    offer("honest");
    expect(s.next(atLimit)).toEqual({ connection: "relay", peer: "honest", message: "honest/6", evict: { item: "flood/0", connection: "relay" } });
  });

  it("the connection's refusal budget keeps half for new or light peers: a peer holding two or more takes only from the upper half", () => {
    const { s, offer } = relaySlots({ refusalsPerSecondPerConnection: 10 });
    for (let i = 0; i < 10; i++) offer("flood");
    // The flood, alone, is told 5 times, not 10.
    const toldFlood = Array.from({ length: 50 }, () => s.mayRefuse("relay", 0, undefined, "flood")).filter(Boolean).length;
    expect(toldFlood).toBe(5);
    // A newcomer and a peer holding one are told from the rest.
    offer("light");
    expect(s.mayRefuse("relay", 0, undefined, "newcomer")).toBe(true);
    expect(s.mayRefuse("relay", 0, undefined, "light")).toBe(true);
  });

  it("a full queue drops as many of the greediest peer's newest as make room for a larger message, or none", () => {
    const s = new HandshakeSlots<string, string>(validateHandshakeLimits({ maxQueuedBytesPerConnection: 1_000 }), (m) => Number(m.split("/")[1]), (m) => m.split("/")[0]!);
    const offer = (peer: string, bytes: number) => s.offer("relay", `${peer}/${bytes}`, 0, () => () => {});
    for (let i = 0; i < 10; i++) expect(offer("flood", 100)).toBe(true);
    expect(offer("honest", 250)).toBe(true); // three of the flood's go
    expect([s.queued, s.queuedBytes, s.displaced]).toEqual([8, 950, 3]);
    expect(offer("other", 990)).toBe(false); // would take all but one of the flood's and honest's: none dropped
    expect([s.queued, s.displaced]).toEqual([8, 3]);
  });

  it("peers made up by whoever writes the return routes cost one connection's bounds: 30,000 of them, one message each", () => {
    const { s, offer, start } = relaySlots({ maxQueuedPerConnection: 100, maxPendingPerConnection: 50, maxPending: 200 });
    let queued = 0;
    for (let i = 0; i < 30_000; i++) if (offer(`forged${i}`) !== undefined) queued++;
    expect(queued).toBe(100);
    expect(s.queued).toBe(100);
    while (start()) {
      /* starts what may start */
    }
    expect(s.pending).toBe(50);
    expect(s.connections).toBe(1);
    expect(s.dropConnection("relay")).toHaveLength(50);
    expect([s.pending, s.queued, s.queuedBytes]).toEqual([0, 0, 0]);
  });
});
