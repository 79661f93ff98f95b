import { describe, expect, it } from "vitest";
import { threadId } from "node:worker_threads";
import { DuplicateAddressError, InvalidOptionError, UnknownAddressError, WorkerHandlerError, WorkerLoadError, type Context, type Routed } from "@hopwire/runtime";
import { BusyEchoer, Echoer, ExitingRelay, LateSender, Prober, Relay, ShutdownReporter, SlotKiller, SlowToLoad, ThrowingConstructor, Thrower, Ticker } from "./fixtures/workers.js";
import { WhereAmI } from "./fixtures/where-am-i.js";
import { captureLogger, withNode } from "./helpers.js";
import { atTurnEnd } from "../dist/util/turn-end.js";
import { ImmediatesMadeBy } from "../../../test/support/immediates.js";

describe('placement "pool"', () => {
  it("hands what is sent during the end-of-turn pass to the pool in that pass, not a turn later (util/turn-end.ts)", async () => {
    await withNode({ pool: { minThreads: 1, maxThreads: 1 } }, async (n) => {
      await n.startWorker("echoer", Echoer, { placement: "pool" });
      expect(await n.sendAndReceive("echoer", "warm")).toBe("warm");
      const immediates = new ImmediatesMadeBy();
      immediates.enable();
      let reply: Promise<unknown> | undefined;
      try {
        // As a channel that opens a record in the pass and hands its message to a pool worker.
        atTurnEnd(() => {
          immediates.followCurrent();
          reply = n.sendAndReceive("echoer", "from the pass");
          immediates.forgetCurrent(); // the pass's own immediate is not this send's
        });
        await new Promise((resolve) => setImmediate(resolve));
      } finally {
        immediates.disable();
      }
      // The lane's flush ran in the pass: no immediate of its own for the next turn.
      expect(immediates.count).toBe(0);
      expect(await reply).toBe("from the pass");
    });
  });

  it("runs a stateless worker in a slot of the node's pool", async () => {
    await withNode({ pool: { maxThreads: 2 } }, async (n) => {
      await n.startWorker("echoer", Echoer, { placement: "pool" });
      expect(await n.sendAndReceive("echoer", "Hello pool")).toBe("Hello pool");
      await n.startWorker("where", WhereAmI, { placement: "pool" });
      expect(await n.sendAndReceive("where", "?")).not.toBe(threadId);
    });
  });

  it("passes constructor arguments to every slot's instance", async () => {
    await withNode({}, async (n) => {
      await n.startWorker("relay", Relay, { placement: "pool", args: ["app"] });
      await n.send("relay", "relayed");
      expect((await n.receive({ timeout: 10_000 })).body).toBe("relayed");
    });
  });

  it("keeps each sender's order: one task in flight per sender, while other senders use other slots", async () => {
    await withNode({ pool: { minThreads: 2, maxThreads: 2 } }, async (n) => {
      const turns = 20;
      const perTurn = 100;
      // Each pump sends over many turns, so its messages reach the pool in many batches while
      // earlier ones are still running; its first message is held 30 ms in its slot. A second
      // task for the same sender running meanwhile on the other slot would overtake it.
      class Pump {
        async handleMessage(ctx: Context): Promise<void> {
          const from = ctx.address.value;
          for (let turn = 0, i = 0; turn < turns; turn++) {
            for (let k = 0; k < perTurn; k++, i++) void ctx.send("relay", i === 0 ? { from, i, delay: 30 } : { from, i });
            await new Promise((resolve) => setImmediate(resolve));
          }
        }
      }
      await n.startWorker("relay", Relay, { placement: "pool", args: ["app"] });
      await n.startWorker("pump-a", new Pump(), { placement: "main" });
      await n.startWorker("pump-b", new Pump(), { placement: "main" });
      await n.send("pump-a", "go");
      await n.send("pump-b", "go");
      const next = new Map<string, number>();
      let outOfOrder = 0;
      for (let received = 0; received < 2 * turns * perTurn; received++) {
        const { from, i } = (await n.receive<{ from: string; i: number }>({ timeout: 20_000 })).body;
        if (i !== (next.get(from) ?? 0)) outOfOrder++;
        next.set(from, i + 1);
      }
      expect(outOfOrder).toBe(0);
      expect(Object.fromEntries(next)).toEqual({ "pump-a": turns * perTurn, "pump-b": turns * perTurn });
    });
  });

  it("cuts a sender's batch that would grow past 64 KiB into several, run in order (one task at a time per sender), none lost", async () => {
    await withNode({ pool: { minThreads: 2, maxThreads: 2 } }, async (n) => {
      await n.startWorker("relay", Relay, { placement: "pool", args: ["app"] });
      // One turn of ~1 MiB from one sender: its lane is cut every 64 KiB or so. The first
      // message is held 30 ms in its slot: a later cut run meanwhile on the other slot would overtake it.
      const count = 1000;
      const pad = new Uint8Array(1000);
      for (let i = 0; i < count; i++) void n.send("relay", i === 0 ? { i, pad, delay: 30 } : { i, pad });
      let outOfOrder = 0;
      for (let expected = 0; expected < count; expected++) {
        const { i } = (await n.receive<{ i: number }>({ timeout: 20_000 })).body;
        if (i !== expected) outOfOrder++;
      }
      expect(outOfOrder).toBe(0);
    });
  });

  it("serves every sender when there are more senders than slots (no lane is passed over)", async () => {
    await withNode({ pool: { minThreads: 1, maxThreads: 1 } }, async (n) => {
      // Four senders keep 4 echoes each outstanding on one slot, so tasks always queue. Piscina's
      // default puts a task it could not dispatch back at the tail: one sender's first task
      // was passed over for as long as the others kept the slot busy (it got no reply at all).
      const senders = 4;
      const window = 4;
      const rounds = 60;
      const replies = new Array<number>(senders).fill(0);
      let atFirstFinish: number[] | undefined;
      let allReplied!: () => void;
      const replied = new Promise<void>((resolve) => (allReplied = resolve));
      class Sender {
        #outstanding = 0;
        #wake: (() => void) | undefined;
        constructor(readonly index: number) {}
        handleMessage(ctx: Context, msg: Routed): void {
          if (msg.body === "go") return void this.#send(ctx); // not awaited: replies must get in meanwhile
          replies[this.index]!++;
          this.#outstanding--;
          if (replies[this.index] === rounds) atFirstFinish ??= [...replies];
          if (replies.every((r) => r === rounds)) allReplied();
          this.#wake?.();
        }
        async #send(ctx: Context): Promise<void> {
          for (let sent = 0; sent < rounds; sent++) {
            while (this.#outstanding >= window) await new Promise<void>((resolve) => (this.#wake = resolve));
            this.#outstanding++;
            await ctx.send("busy", sent);
          }
        }
      }
      await n.startWorker("busy", BusyEchoer, { placement: "pool", args: [1] });
      for (let i = 0; i < senders; i++) await n.startWorker(`sender-${i}`, new Sender(i), { placement: "main" });
      for (let i = 0; i < senders; i++) await n.send(`sender-${i}`, "go");
      await replied;
      // When the first sender had all its replies, every other one had at least half of its own.
      expect(Math.min(...atFirstFinish!)).toBeGreaterThanOrEqual(rounds / 2);
    });
  });

  it("makes sendAndReceive, receive and worker management unsupported, while send works", async () => {
    await withNode({}, async (n) => {
      await n.startWorker("prober", Prober, { placement: "pool" });
      await n.startWorker("echoer", Echoer);
      for (const op of ["sendAndReceive", "receive", "startWorker", "stopWorker", "findProducer"]) {
        const outcome = await n.sendAndReceive<{ ok: boolean; error: { code: string; name: string } }>("prober", {
          op,
          target: "echoer",
          address: "somewhere",
        });
        expect(outcome.ok, op).toBe(false);
        expect(outcome.error, op).toMatchObject({ code: "UNSUPPORTED_OPERATION", name: "UnsupportedOperationError" });
      }
      expect(await n.sendAndReceive("prober", { op: "send", target: "echoer" })).toEqual({ ok: true, value: null });
    });
  });

  it("logs a handler that throws, and keeps handling the batch and the next ones", async () => {
    const { logger, lines } = captureLogger();
    await withNode({ logger }, async (n) => {
      await n.startWorker("thrower", Thrower, { placement: "pool" });
      await n.send("thrower", "throw");
      await n.send("thrower", "same batch");
      expect((await n.receive({ timeout: 10_000 })).body).toBe("same batch");
      expect(await n.sendAndReceive("thrower", "next batch")).toBe("next batch");
      expect(lines.find((l) => l.includes("0#thrower failed to handle a message"))).toMatch(/boom from a handler/);
    });
  });

  it("says when a slot ends under a task (an unhandled rejection): a handler-error, and the waiting sendAndReceive fails at once", async () => {
    // Piscina replaces such a slot and rejects the task; that was a debug line only, and the
    // caller waited for its whole timeout.
    await withNode({ pool: { minThreads: 1, maxThreads: 1 }, warnings: false }, async (n) => {
      const events: { worker: string; what: string; error: Error }[] = [];
      n.on("handler-error", (event) => events.push(event));
      await n.startWorker("killer", SlotKiller, { placement: "pool" });
      const started = Date.now();
      const error = await n.sendAndReceive("killer", "reject", { timeout: 20_000 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(WorkerHandlerError);
      expect((error as Error).cause).toMatchObject({ message: "nobody handled this rejection" });
      expect(Date.now() - started).toBeLessThan(15_000);
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ worker: "killer", what: "handleMessage" });
      // The worker goes on in a new slot.
      expect(await n.sendAndReceive("killer", "still here", { timeout: 10_000 })).toBe("still here");
    });
  });

  it("loses only the task a slot ends under, not the sender's whole backlog: a task takes at most ~1 MiB of a lane", async () => {
    // A task took all a lane held (up to the mailbox bound, 4 MiB): a slot ending at the
    // 1500th of 4000 lost 3980 of them, where one batch per task had lost 663.
    await withNode({ pool: { minThreads: 1, maxThreads: 1 }, warnings: false }, async (n) => {
      await n.startWorker("relay", ExitingRelay, { placement: "pool", args: ["app"] });
      const slotEnded = new Promise<void>((resolve) => n.on("handler-error", () => resolve()));
      const count = 4000;
      const pad = new Uint8Array(1000);
      const sends: Promise<void>[] = [];
      for (let i = 0; i < count; i++) sends.push(n.send("relay", i === 1500 ? { i, exit: true } : { i, pad }));
      await Promise.all(sends);
      // The end, in the same lane after the slot ended: whatever came before it was handled or lost by then.
      await slotEnded;
      await n.send("relay", { i: count });
      let received = 0;
      for (;;) {
        const { i } = (await n.receive<{ i: number }>({ timeout: 20_000 })).body;
        if (i === count) break;
        received++;
      }
      // 1 MiB of these frames is ~990 messages: one task's worth lost, not the backlog.
      expect(count - received).toBeLessThan(1200);
    });
  });

  it("refuses a send made after the handler returned (from a timer), which would be lost, rather than resolving it", async () => {
    // A task's sends leave with its result; one made later went into a batch nobody reads.
    await withNode({ pool: { minThreads: 1, maxThreads: 1 } }, async (n) => {
      await n.startWorker("late", LateSender, { placement: "pool" });
      // Asked and answered: "report" goes in a later task (in the same one, "arm"'s timer would fire while that task still runs).
      expect(await n.sendAndReceive("late", "arm", { timeout: 10_000 })).toBe("armed");
      const outcome = await n.sendAndReceive<{ code: string; message: string } | string>("late", "report", { timeout: 10_000 });
      expect(outcome).toMatchObject({ code: "UNSUPPORTED_OPERATION" });
      expect((outcome as { message: string }).message).toMatch(/^send from a pool worker \(0#late\) after its handler returned would be lost/);
    });
  });

  it("fails startWorker with WorkerLoadError when the class cannot load, and refuses processors", async () => {
    await withNode({}, async (n) => {
      const error = await n.startWorker("bad", ThrowingConstructor, { placement: "pool" }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(WorkerLoadError);
      expect((error as Error).cause).toBeInstanceOf(InvalidOptionError);
      await expect(n.send("bad", "x")).rejects.toBeInstanceOf(UnknownAddressError);
      await expect(n.startProcessor("ticker", Ticker, { placement: "pool", args: ["app", 1] })).rejects.toBeInstanceOf(InvalidOptionError);
      await expect(n.startProcessor("ticker", Ticker, { placement: "pool", args: ["app", 1] })).rejects.toMatchObject({ option: "placement" });
    });
  });

  it("takes messages while it loads, as a thread worker does: a sendAndReceive made then gets its answer", async () => {
    await withNode({ pool: { minThreads: 1, maxThreads: 2 } }, async (n) => {
      let started = false;
      const starting = n.startWorker("slow", SlowToLoad, { placement: "pool", args: [400] }).then(() => void (started = true));
      // Right after the call, as with a thread worker: the address is taken, and what is sent waits.
      const reply = n.sendAndReceive("slow", "sent while it loads", { timeout: 20_000 });
      await expect(n.startWorker("slow", Echoer, { placement: "pool" })).rejects.toBeInstanceOf(DuplicateAddressError);
      expect(started).toBe(false); // the constructor's 400 ms in its slot: still loading
      await starting;
      expect(await reply).toBe("sent while it loads");
    });
  });

  it("drops what was sent while it loaded when it then fails to load, and frees its address", async () => {
    await withNode({ pool: { minThreads: 1, maxThreads: 1 } }, async (n) => {
      const starting = n.startWorker("late", SlowToLoad, { placement: "pool", args: [300, true] }).catch((e: unknown) => e);
      await n.send("late", "sent while it loads");
      const error = await starting;
      expect(error).toBeInstanceOf(WorkerLoadError);
      await expect(n.send("late", "after")).rejects.toBeInstanceOf(UnknownAddressError);
    });
  });

  it("runs shutdown once when the worker stops, and frees its address", async () => {
    await withNode({}, async (n) => {
      await n.startWorker("reporter", ShutdownReporter, { placement: "pool", args: ["app"] });
      expect(await n.sendAndReceive("reporter", "hi")).toBe("hi");
      await n.stopWorker("reporter");
      expect((await n.receive({ timeout: 10_000 })).body).toBe("shutdown of reporter");
      await expect(n.send("reporter", "x")).rejects.toBeInstanceOf(UnknownAddressError);
      await expect(n.receive({ timeout: 50 })).rejects.toMatchObject({ code: "TIMEOUT" });
    });
  });
});
