import { describe, expect, it } from "vitest";
import { AbortError, Address, LocalMessage, NodeStoppedError, Route, RouteUnavailableError, TimeoutError, encodeBody, route, type Context, type Node, type Routed } from "@hopwire/runtime";
import { AwaitingSender, BoundedSender, Relay, SlowCounter, StreamingSender } from "./fixtures/workers.js";
import { startGated, withNode } from "./helpers.js";
import { eventually } from "../../../test/support/eventually.js";

/**
 * Counts, on the main thread, what a sender sent and what a slow consumer handled (both
 * report each message), so that a test can see how far the consumer is behind at worst.
 * Reports from the consumer arrive a batch late, so the figure errs on the high side.
 */
class Tally {
  sent = -1;
  handled = -1;
  outOfOrder = 0;
  maxBehind = 0;
  #done: (() => void) | undefined;
  #expect = Infinity;

  handleMessage(_ctx: Context, msg: Routed<{ sent?: number; handled?: number }>): void {
    const { sent, handled } = msg.body;
    if (sent !== undefined) this.sent = sent;
    if (handled !== undefined) {
      if (handled !== this.handled + 1) this.outOfOrder++;
      this.handled = handled;
      if (handled + 1 === this.#expect) this.#done?.();
    }
    this.maxBehind = Math.max(this.maxBehind, this.sent - this.handled);
  }

  /** Counts a send made on the main thread. */
  sentOne(i: number): void {
    this.sent = i;
    this.maxBehind = Math.max(this.maxBehind, this.sent - this.handled);
  }

  allHandled(count: number): Promise<void> {
    this.#expect = count;
    if (this.handled + 1 >= count) return Promise.resolve();
    return new Promise((resolve) => (this.#done = resolve));
  }
}

const COUNT = 300;
const LIMIT = 32;

async function startTally(n: Node): Promise<Tally> {
  const tally = new Tally();
  await n.startWorker("tally", tally, { placement: "main" });
  return tally;
}

describe("backpressure: a full mailbox makes its feeders wait", () => {
  it("a main worker's maxBytes counts each queued message's routes with its payload (one payload byte under 40 KB of routes is not one byte)", async () => {
    await withNode({}, async (n) => {
      let open!: () => void;
      const gate = new Promise<void>((resolve) => (open = resolve));
      const got: number[] = [];
      await n.startWorker("gated", { handleMessage: async (_ctx: Context, msg: Routed<number>) => (await gate, void got.push(msg.body)) }, {
        placement: "main",
        mailbox: { maxMessages: 1000, maxBytes: 64 * 1024 },
      });
      // 40 addresses of ~1 KB: what a peer's message can hold beside a one-byte payload.
      const back = new Route(Array.from({ length: 40 }, (_, i) => new Address(0, String(i).padEnd(1000, "x"))));
      const mailbox = n.router.localMailbox("gated")!;
      const sends = [0, 1, 2, 3, 4, 5].map((i) => n.forward(new LocalMessage(route("gated"), back, encodeBody(i))));
      // The first is being handled (it waits at the gate), the next two fill 64 KiB; counted by payload, 1,000 would fit.
      expect(mailbox.isFull).toBe(true);
      open();
      await Promise.all(sends);
      await eventually(() => got.length === 6);
      expect(got).toEqual([0, 1, 2, 3, 4, 5]);
      expect(mailbox.isFull).toBe(false);
    });
  });

  it("main -> slow thread worker: awaited sends wait for room, the backlog stays at the bound, order is kept", async () => {
    await withNode({}, async (n) => {
      const tally = await startTally(n);
      await n.startWorker("slow", SlowCounter, { args: ["tally", 1], mailbox: { maxMessages: LIMIT } });
      for (let i = 0; i < COUNT; i++) {
        await n.send("slow", { i, pad: new Uint8Array(100) });
        tally.sentOne(i);
      }
      await tally.allHandled(COUNT);
      expect(tally.outOfOrder).toBe(0);
      // The sender filled the mailbox (it did have to wait) but never ran far past it.
      expect(tally.maxBehind).toBeGreaterThanOrEqual(LIMIT / 2);
      expect(tally.maxBehind).toBeLessThanOrEqual(LIMIT + 8);
    });
  });

  it("thread -> slow thread worker: the sending thread's awaited sends wait (link credit + mailbox bound)", async () => {
    await withNode({ linkWindowBytes: 1024 }, async (n) => {
      const tally = await startTally(n);
      await n.startWorker("slow", SlowCounter, { args: ["tally", 1], mailbox: { maxMessages: LIMIT } });
      await n.startWorker("sender", AwaitingSender);
      await n.sendAndReceive("sender", { to: "slow", count: COUNT, size: 100, tally: "tally" }, { timeout: 60_000 });
      await tally.allHandled(COUNT);
      expect(tally.outOfOrder).toBe(0);
      expect(tally.maxBehind).toBeGreaterThanOrEqual(LIMIT / 2);
      // Mailbox bound + what the link window holds (~7 frames of ~150 B) + reports in flight.
      expect(tally.maxBehind).toBeLessThanOrEqual(LIMIT + 24);
    });
  });

  for (const placement of ["thread", "pool"] as const) {
    it(`thread -> slow ${placement} worker, a stream of unawaited sends: the sender waits for the bound, order is kept`, async () => {
      await withNode({ linkWindowBytes: 8192, pool: { minThreads: 1, maxThreads: 1 } }, async (n) => {
        const tally = await startTally(n);
        await n.startWorker("slow", SlowCounter, { args: ["tally", 1], mailbox: { maxMessages: LIMIT }, placement });
        await n.startWorker("sender", StreamingSender);
        // Its batches are runs of envelopes for "slow", which the main thread passes on whole
        // (pass-on.test.ts) while the mailbox has room: it must stop at the bound all the same.
        await n.sendAndReceive("sender", { to: "slow", count: COUNT, size: 100 }, { timeout: 60_000 });
        // The answer came once every send had been written: "slow" held at most its bound, and
        // what the link carried on its way when "slow" filled (a window of ~140-byte frames) was
        // waiting for it on the main thread, at most that again once credit for it came back
        // ahead (the answer, for another hop, does not wait behind them); and some of its reports
        // were on their way. Without the bound it had handled ~70 of 300 by then.
        const framesPerWindow = Math.ceil(8192 / 140);
        expect(tally.handled).toBeGreaterThanOrEqual(COUNT - LIMIT - 2 * framesPerWindow);
        await tally.allHandled(COUNT);
        expect(tally.outOfOrder).toBe(0);
      });
    });
  }

  it("main -> slow pool worker: the pool's lanes count against the bound, order is kept", async () => {
    await withNode({ pool: { minThreads: 1, maxThreads: 1 } }, async (n) => {
      const tally = await startTally(n);
      await n.startWorker("slow", Relay, { placement: "pool", args: ["tally"], mailbox: { maxMessages: LIMIT } });
      for (let i = 0; i < COUNT; i++) {
        await n.send("slow", { handled: i, delay: 1 });
        tally.sentOne(i);
      }
      await tally.allHandled(COUNT);
      expect(tally.outOfOrder).toBe(0);
      expect(tally.maxBehind).toBeGreaterThanOrEqual(LIMIT / 2);
      expect(tally.maxBehind).toBeLessThanOrEqual(LIMIT + 8);
    });
  });

  it("a send that times out or is aborted while the mailbox is full was not sent; later sends go in order", async () => {
    await withNode({}, async (n) => {
      const { got, open } = await startGated(n, "gated", 4);
      let waiting: Promise<unknown>;
      try {
        for (let i = 0; i < 4; i++) await n.send("gated", i); // 0 blocks the handler; 1-3 fill the mailbox
        const timedOut = n.send("gated", 100, { timeout: 50 });
        await expect(timedOut).rejects.toBeInstanceOf(TimeoutError);
        await expect(timedOut).rejects.toThrow(/^send to 0#gated \(waiting for room\) timed out after 50 ms$/);
        await expect(n.sendAndReceive("gated", 102, { timeout: 50 })).rejects.toThrow(/^sendAndReceive to 0#gated \(waiting for room\) timed out after 50 ms$/);
        const controller = new AbortController();
        const aborted = n.send("gated", 101, { signal: controller.signal });
        let settled = false;
        waiting = n.send("gated", 4).then(() => (settled = true));
        controller.abort();
        await expect(aborted).rejects.toBeInstanceOf(AbortError);
        await expect(aborted).rejects.toThrow(/^send to 0#gated \(waiting for room\) was aborted$/);
        for (let turn = 0; turn < 5; turn++) await new Promise((resolve) => setImmediate(resolve));
        expect(settled).toBe(false); // still full: the send waits
      } finally {
        // Whatever failed above, the blocked handler must end, or stopping the node waits for it until the test times out.
        open();
      }
      await waiting;
      await n.send("gated", 5);
      while (got.length < 6) await new Promise((resolve) => setImmediate(resolve));
      expect(got).toEqual([0, 1, 2, 3, 4, 5]);
    });
  });

  it("a sendAndReceive that waited for room, went out and got no reply names the whole timeout it was given", async () => {
    await withNode({}, async (n) => {
      const { open } = await startGated(n, "gated", 2);
      try {
        for (let i = 0; i < 2; i++) await n.send("gated", i); // 0 blocks the handler; 1 fills the mailbox
        const started = performance.now();
        const request = n.sendAndReceive("gated", 2, { timeout: 2_000 }).catch((error: unknown) => error);
        // Room comes once the handler runs again (the stimulus, not a check): the request then goes out, and Gated never replies.
        setTimeout(open, 60);
        const error = (await request) as Error;
        expect(error).toBeInstanceOf(TimeoutError);
        expect(performance.now() - started).toBeGreaterThanOrEqual(1_990);
        // It said "timed out after 1940 ms": what was left once it had waited for room.
        const [, waited] = /^sendAndReceive to 0#gated timed out after 2000 ms \((\d+) ms of it waiting for room on the first hop\)$/.exec(error.message) ?? [];
        expect(Number(waited), error.message).toBeGreaterThanOrEqual(50);
      } finally {
        open();
      }
    });
  });

  it("one AbortSignal shared by many waiting sends and requests aborts them all, without Node's listener-leak warning", async () => {
    await withNode({}, async (n) => {
      const { got, open } = await startGated(n, "gated", 2);
      const warnings: string[] = [];
      const onWarning = (warning: Error): void => void warnings.push(`${warning.name}: ${warning.message}`);
      process.on("warning", onWarning);
      try {
        for (let i = 0; i < 2; i++) await n.send("gated", i); // 0 blocks the handler; 1 fills the mailbox
        const controller = new AbortController();
        const { signal } = controller;
        const waits = [
          ...Array.from({ length: 30 }, (_, k) => n.send("gated", 10 + k, { signal })),
          ...Array.from({ length: 15 }, (_, k) => n.sendAndReceive("gated", 100 + k, { signal })),
        ].map((wait) => wait.then(() => "settled", (error: unknown) => (error as Error).name));
        for (let turn = 0; turn < 5; turn++) await new Promise((resolve) => setImmediate(resolve)); // a warning is emitted on a later tick
        controller.abort();
        expect(await Promise.all(waits)).toEqual(Array(45).fill("AbortError"));
        for (let turn = 0; turn < 5; turn++) await new Promise((resolve) => setImmediate(resolve));
        expect(warnings).toEqual([]);
      } finally {
        process.off("warning", onWarning);
        open();
      }
      await eventually(() => got.length === 2);
      expect(got).toEqual([0, 1]);
    });
  });

  it("a thread worker's sends written before the main thread granted their hop resolve with the grant, not each at its own verdict", async () => {
    type Settled = { outcome: string; at: number }[];
    await withNode({}, async (n) => {
      const { got, open } = await startGated(n, "gated", 2);
      await n.startWorker("sender", BoundedSender, { placement: "thread" });
      let openedAt = Number.POSITIVE_INFINITY;
      try {
        for (let i = 0; i < 2; i++) await n.send("gated", i); // 0 blocks the handler; 1 fills the mailbox
        // All 20 are written before the first one's verdict (with the grant) comes back; the main thread then holds the rest.
        const asked = n.sendAndReceive<Settled>("sender", { to: "gated", count: 20, timeout: 60_000 }, { timeout: 30_000 });
        // The answer itself waits behind the held sends, so room must come first: after 3 s, a stimulus (the check is
        // causal: each send says when it resolved, and none may have waited for the room).
        setTimeout(() => ((openedAt = Date.now()), open()), 3_000);
        const settled = await asked;
        expect(settled.map((s) => s.outcome)).toEqual(Array(20).fill("sent"));
        // Before: each waited for its own verdict, which came as "gated" made room.
        expect(settled.filter((s) => s.at >= openedAt)).toEqual([]);
      } finally {
        open();
      }
      await eventually(() => got.length >= 22);
      expect(got).toEqual([0, 1, ...Array.from({ length: 20 }, (_, i) => 100 + i)]);
    });
  });

  it("a sendAndReceive still waiting for room when its hop stops says it never went out; the node's stop is NodeStoppedError", async () => {
    let stopped: Node | undefined;
    const outcome = (p: Promise<unknown>): Promise<unknown> => p.then(() => "settled", (error: unknown) => error);
    await withNode({}, async (n) => {
      const { open } = await startGated(n, "gated", 2);
      try {
        for (let i = 0; i < 2; i++) await n.send("gated", i); // 0 blocks the handler; 1 fills the mailbox
        const request = outcome(n.sendAndReceive("gated", 2));
        const stopping = n.stopWorker("gated");
        const error = (await request) as Error;
        expect(error).toBeInstanceOf(RouteUnavailableError);
        expect(error.message).toBe("0#gated went away before the request went out (it waited for room there)");
        open();
        await stopping;
      } finally {
        open();
      }
    });
    await withNode({}, async (n) => {
      stopped = n;
      const { open } = await startGated(n, "gated", 2);
      for (let i = 0; i < 2; i++) await n.send("gated", i);
      const request = outcome(n.sendAndReceive("gated", 2));
      const send = outcome(n.send("gated", 3));
      const stopping = n.stop();
      open();
      await stopping;
      // As the plain send waiting beside it.
      expect(await request).toBeInstanceOf(NodeStoppedError);
      expect(await send).toBeInstanceOf(NodeStoppedError);
    });
    expect(stopped?.stopped).toBe(true);
  });

  it("sends aborted behind others in a waiting queue are skipped, not sent; the rest go in order", async () => {
    await withNode({}, async (n) => {
      const { got, open } = await startGated(n, "gated", 2);
      const controller = new AbortController();
      let sends: Promise<unknown>[] = [];
      try {
        for (let i = 0; i < 2; i++) await n.send("gated", i); // 0 blocks the handler; 1 fills the mailbox
        // 2..9 wait in the context's queue; the odd ones are aborted while they wait behind 2.
        sends = Array.from({ length: 8 }, (_, k) => {
          const i = k + 2;
          const sent = n.send("gated", i, i % 2 === 1 ? { signal: controller.signal } : {});
          return sent.then(
            () => "sent",
            (error: { code?: string }) => error.code,
          );
        });
        controller.abort();
      } finally {
        open();
      }
      expect(await Promise.all(sends)).toEqual(["sent", "ABORTED", "sent", "ABORTED", "sent", "ABORTED", "sent", "ABORTED"]);
      while (got.length < 6) await new Promise((resolve) => setImmediate(resolve));
      await n.send("gated", 10);
      while (got.length < 7) await new Promise((resolve) => setImmediate(resolve));
      expect(got).toEqual([0, 1, 2, 4, 6, 8, 10]);
    });
  });

  it("a sender's send waiting on a full worker does not hold up its sends to another worker (order is per first hop)", async () => {
    await withNode({}, async (n) => {
      const tally = await startTally(n);
      await n.startWorker("slow", SlowCounter, { args: ["tally", 50], mailbox: { maxMessages: 2 } });
      let echoed = 0;
      await n.startWorker("quick", { handleMessage: () => void echoed++ }, { placement: "main" });
      // Fill "slow", then queue one more send to it: that one waits for room.
      for (let i = 0; i < 4; i++) void n.send("slow", { i });
      let waitingSent = false;
      const waiting = n.send("slow", { i: 4 }).then(() => (waitingSent = true));
      await n.send("quick", "now");
      expect(echoed).toBe(1);
      expect(waitingSent).toBe(false); // the send to "quick" went while the one to "slow" still waited
      await waiting;
      await tally.allHandled(5);
      expect(tally.outOfOrder).toBe(0);
    });
  });

  it("rejects bad mailbox limits with InvalidOptionError", async () => {
    await withNode({}, async (n) => {
      await expect(n.startWorker("x", new Relay("y"), { placement: "main", mailbox: { maxMessages: 0 } })).rejects.toMatchObject({
        code: "OPTION_INVALID",
      });
    });
  });
});
