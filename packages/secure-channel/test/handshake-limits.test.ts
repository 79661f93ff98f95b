// The listener's pending-handshake slots: per-connection caps and rates, fair sharing of the
// listener's slots when it is full, and slots freed when a connection goes away. The clock is
// passed in, so these are exact; test/handshake-flood.test.ts runs the real thing over TCP.
import { describe, expect, it } from "vitest";
import { InvalidOptionError } from "@hopwire/runtime";
import { DEFAULT_HANDSHAKE_LIMITS, HandshakeSlots, validateHandshakeLimits } from "../src/listener/handshake-limits.js";

function slots(limits: Partial<typeof DEFAULT_HANDSHAKE_LIMITS>) {
  const watched: string[] = [];
  const unwatched: string[] = [];
  const s = new HandshakeSlots<string>(validateHandshakeLimits(limits));
  let next = 0;
  /** Admits (and adds) one handshake from `key`; returns its id, or why it was refused. */
  const start = (key: string, now = 0): { id?: string; why?: string; evicted?: string; evictedFrom?: string } => {
    const admission = s.admit(key, now, () => {
      watched.push(key);
      return () => unwatched.push(key);
    });
    if (!admission.admitted) return { why: admission.why };
    const id = `${key}#${next++}`;
    s.add(key, id);
    return { id, evicted: admission.evict?.item, evictedFrom: admission.evict?.connection };
  };
  return { s, start, watched, unwatched };
}

describe("handshake limits", () => {
  it("defaults are the documented ones", () => {
    expect(DEFAULT_HANDSHAKE_LIMITS).toEqual({ maxPending: 4096, maxPendingPerConnection: 64, startsPerSecondPerConnection: 100, refusalsPerSecondPerConnection: 10 });
  });

  it("one connection holds at most maxPendingPerConnection slots; another connection still gets one", () => {
    const { s, start } = slots({ maxPending: 100, maxPendingPerConnection: 4, startsPerSecondPerConnection: 1000 });
    for (let i = 0; i < 4; i++) expect(start("flood").id).toBeDefined();
    expect(start("flood").why).toBe("connection-full");
    expect(start("flood").why).toBe("connection-full");
    expect(start("honest").id).toBeDefined();
    expect(s.pending).toBe(5);
  });

  it("a connection begins at most startsPerSecondPerConnection handshakes a second, however fast they finish", () => {
    const { s, start } = slots({ maxPendingPerConnection: 64, startsPerSecondPerConnection: 10 });
    let admitted = 0;
    for (let i = 0; i < 1000; i++) {
      const r = start("flood", 0);
      if (r.id) {
        admitted++;
        s.release("flood", r.id); // finished (or failed) at once: the slot is free again
      }
    }
    expect(admitted).toBe(10);
    expect(start("flood", 500).id).toBeDefined(); // half a second later: five more tokens
    expect(start("other", 0).id).toBeDefined(); // its own bucket
  });

  it("when the listener is full, a connection with fewer slots takes the oldest slot of the greediest, never the reverse", () => {
    const { s, start } = slots({ maxPending: 8, maxPendingPerConnection: 8, startsPerSecondPerConnection: 1000 });
    const flood: string[] = [];
    for (let i = 0; i < 8; i++) flood.push(start("flood").id!);
    const honest = start("honest");
    expect(honest.id).toBeDefined();
    expect(honest.evicted).toBe(flood[0]); // the oldest of the greediest
    expect(honest.evictedFrom).toBe("flood");
    expect(s.pending).toBe(8);
    // Flood keeps coming: it holds 7, the honest one 1: the flood may not take the honest slot.
    expect(start("flood").why).toBe("listener-full");
    // Many connections, one slot each, cannot evict each other or the honest one either.
    const { start: start2 } = slots({ maxPending: 4, maxPendingPerConnection: 4, startsPerSecondPerConnection: 1000 });
    for (const key of ["a", "b", "c", "honest"]) expect(start2(key).id).toBeDefined();
    expect(start2("e").why).toBe("listener-full");
  });

  it("a connection that goes away frees its slots and stops being watched; idle state is pruned", () => {
    const { s, start, watched, unwatched } = slots({ maxPending: 100, maxPendingPerConnection: 8, startsPerSecondPerConnection: 1000 });
    for (let i = 0; i < 5; i++) start("flood");
    start("honest");
    expect(watched).toEqual(["flood", "honest"]);
    expect(s.dropConnection("flood")).toHaveLength(5);
    expect(s.pending).toBe(1);
    expect(unwatched).toEqual(["flood"]);
    const r = start("quick", 0);
    s.release("quick", r.id!);
    s.prune(0); // tokens not back yet: kept
    expect(s.connections).toBe(2);
    s.prune(2_000);
    expect(s.connections).toBe(1); // "honest" still has a pending handshake
    expect(unwatched).toEqual(["flood", "quick"]);
  });

  it("refusals are rate-limited per connection", () => {
    const { s, start } = slots({ refusalsPerSecondPerConnection: 3 });
    start("flood");
    const allowed = Array.from({ length: 50 }, () => s.mayRefuse("flood", 0)).filter(Boolean).length;
    expect(allowed).toBe(3);
    expect(s.mayRefuse("unknown", 0)).toBe(false);
  });

  it("limits are validated", () => {
    expect(() => validateHandshakeLimits({ maxPending: 0 })).toThrow(InvalidOptionError);
    expect(() => validateHandshakeLimits({ maxPendingPerConnection: 1.5 })).toThrow(InvalidOptionError);
    expect(() => validateHandshakeLimits({ maxPending: 10, maxPendingPerConnection: 11 })).toThrow(InvalidOptionError);
    expect(validateHandshakeLimits({ refusalsPerSecondPerConnection: 0 }).refusalsPerSecondPerConnection).toBe(0);
  });
});
