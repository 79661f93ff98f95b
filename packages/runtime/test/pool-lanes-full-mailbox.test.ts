import { describe, expect, it } from "vitest";
import { waitFor, type Context, type Routed, type Worker } from "@hopwire/runtime";
import { Forwarder } from "./fixtures/workers.js";
import { withNode } from "./helpers.js";

// A pool task carries several senders' lanes when more lanes than slots wait; a lane whose
// messages fed a mailbox that is now full waits for room there before its next batch, and only
// that lane: at first every lane of the task waited (a review's catch), so a lane whose next
// message was what the full mailbox waited for never ran again.

/** Keeps its context, to send from it in the test's own turn (placed "main"). */
class Sender implements Worker {
  ctx!: Context;
  readonly ready: Promise<void>;
  #resolve!: () => void;
  constructor() {
    this.ready = new Promise((resolve) => (this.#resolve = resolve));
  }
  handleMessage(ctx: Context): void {
    this.ctx = ctx;
    this.#resolve();
  }
}

/** Records the bodies it gets; `has(v)` resolves once `v` came. */
class Collector implements Worker {
  readonly received: unknown[] = [];
  #waiters: { v: unknown; resolve: () => void }[] = [];
  handleMessage(_ctx: Context, message: Routed): void {
    this.received.push(message.body);
    this.#waiters = this.#waiters.filter((w) => (w.v === message.body ? (w.resolve(), false) : true));
  }
  has(v: unknown): Promise<void> {
    return waitFor<void>((resolve) => (this.received.includes(v) ? resolve() : this.#waiters.push({ v, resolve })), {
      timeout: 10_000,
      what: () => `${String(v)} at the collector (it has ${JSON.stringify(this.received)})`,
    });
  }
}

/** Handles one message at a time once `gate()` resolves. */
class Gated implements Worker {
  constructor(readonly gate: () => Promise<void>) {}
  async handleMessage(): Promise<void> {
    await this.gate();
  }
}

/** Lanes A, B and C of pool worker "p", from three main workers; z's mailbox holds 4. */
async function setUp(n: Awaited<Parameters<Parameters<typeof withNode>[1]>[0]>, gate: (collector: Collector) => () => Promise<void>) {
  const collector = new Collector();
  await n.startWorker("collector", collector, { placement: "main" });
  await n.startWorker("z", new Gated(gate(collector)), { placement: "main", mailbox: { maxMessages: 4 } });
  await n.startWorker("p", Forwarder, { placement: "pool" });
  const [a, b, c] = [new Sender(), new Sender(), new Sender()];
  for (const [name, s] of [["a", a], ["b", b], ["c", c]] as const) {
    await n.startWorker(name, s, { placement: "main" });
    await n.send(name, "init");
    await s.ready;
  }
  return { collector, a, b, c };
}

describe("pool lanes that share a task", () => {
  it("a lane that never sends to a full mailbox is not held up by another lane's", async () => {
    await withNode({ pool: { minThreads: 1, maxThreads: 1 } }, async (n) => {
      // z drains only once "b2" has reached the collector: held behind A's full mailbox, B never sent it.
      const { collector, a, b, c } = await setUp(n, (collector) => () => collector.has("b2"));
      // One turn: lanes A, B and C ready at once, two tasks may start (twice one slot): A and B share one.
      for (let i = 0; i < 10; i++) expect(a.ctx.trySend("p", { to: "z", v: i })).toBe(true);
      expect(b.ctx.trySend("p", { to: "collector", v: "b1" })).toBe(true);
      expect(c.ctx.trySend("p", { to: "collector", v: "c1" })).toBe(true);
      await collector.has("b1");
      expect(b.ctx.trySend("p", { to: "collector", v: "b2" })).toBe(true);
      await collector.has("b2");
    });
  }, 30_000);

  it("the lane that fed the full mailbox still waits for room there", async () => {
    await withNode({ pool: { minThreads: 1, maxThreads: 1 }, shutdownTimeout: 300 }, async (n) => {
      const { collector, a, b, c } = await setUp(n, () => () => new Promise<void>(() => {})); // z never drains
      for (let i = 0; i < 10; i++) expect(a.ctx.trySend("p", { to: "z", also: "collector", v: `a${i}` })).toBe(true);
      expect(b.ctx.trySend("p", { to: "collector", v: "b1" })).toBe(true);
      expect(c.ctx.trySend("p", { to: "collector", v: "c1" })).toBe(true);
      await collector.has("b1");
      await collector.has("a9");
      // A's next batch is ready before B's: on the one slot it would run first, its first message reaching the
      // collector before "b2", unless it waits for room at z.
      for (let i = 10; i < 20; i++) expect(a.ctx.trySend("p", { to: "z", also: "collector", v: `a${i}` })).toBe(true);
      expect(b.ctx.trySend("p", { to: "collector", v: "b2" })).toBe(true);
      await collector.has("b2");
      expect(collector.received.filter((v) => String(v).startsWith("a"))).toHaveLength(10);
    });
  }, 30_000);
});
