import { describe, expect, it } from "vitest";
import { threadId } from "node:worker_threads";
import { UnknownAddressError, UnsupportedOperationError, type Context, type Processor, type Routed, type Worker } from "@hopwire/runtime";
import { Echoer, Ticker } from "./fixtures/workers.js";
import { captureLogger, withNode } from "./helpers.js";

describe('placement "main"', () => {
  it("runs a worker instance on the main thread, with its state", async () => {
    await withNode({}, async (n) => {
      let count = 0;
      const worker: Worker<string> = {
        async handleMessage(ctx, msg) {
          count++;
          await ctx.send(msg.returnRoute, { body: msg.body, threadId, count });
        },
      };
      await n.startWorker("here", worker, { placement: "main" });
      expect(await n.sendAndReceive("here", "a")).toEqual({ body: "a", threadId, count: 1 });
      expect(await n.sendAndReceive("here", "b")).toEqual({ body: "b", threadId, count: 2 });
    });
  });

  it('runs a worker class on the main thread when asked with { placement: "main" }', async () => {
    await withNode({}, async (n) => {
      class Local {
        constructor(readonly greeting: string) {}
        async handleMessage(ctx: Context, msg: Routed<string>): Promise<void> {
          await ctx.send(msg.returnRoute, `${this.greeting} ${msg.body} from ${threadId}`);
        }
      }
      await n.startWorker("local", Local, { placement: "main", args: ["hello"] });
      expect(await n.sendAndReceive("local", "you")).toBe(`hello you from ${threadId}`);
      await n.startWorker("echoer", Echoer, { placement: "main" });
      expect(await n.sendAndReceive("echoer", "x")).toBe("x");
    });
  });

  it("handles messages one at a time, in order, even when handlers await", async () => {
    await withNode({}, async (n) => {
      const seen: number[] = [];
      let active = 0;
      let maxActive = 0;
      await n.startWorker(
        "serial",
        {
          async handleMessage(ctx: Context, msg: Routed<number>) {
            maxActive = Math.max(maxActive, ++active);
            await new Promise((resolve) => setImmediate(resolve));
            seen.push(msg.body);
            active--;
            if (msg.body === 99) await ctx.send("app", "done");
          },
        },
        { placement: "main" },
      );
      for (let i = 0; i < 100; i++) void n.send("serial", i);
      await n.receive({ timeout: 5_000 });
      expect(seen).toEqual(Array.from({ length: 100 }, (_, i) => i));
      expect(maxActive).toBe(1);
    });
  });

  it("logs a handler that throws; the worker keeps running", async () => {
    const { logger, lines } = captureLogger();
    await withNode({ logger }, async (n) => {
      await n.startWorker(
        "fragile",
        {
          async handleMessage(ctx: Context, msg: Routed<string>) {
            if (msg.body === "throw") throw new Error("main boom");
            await ctx.send(msg.returnRoute, msg.body);
          },
        },
        { placement: "main" },
      );
      await n.send("fragile", "throw");
      expect(await n.sendAndReceive("fragile", "ok")).toBe("ok");
      expect(lines.find((l) => l.includes("0#fragile failed to handle a message"))).toMatch(/main boom/);
    });
  });

  it("makes receive unsupported on a worker's context", async () => {
    await withNode({}, async (n) => {
      await n.startWorker(
        "asker",
        {
          async handleMessage(ctx: Context, msg: Routed) {
            const error = await ctx.receive({ timeout: 10 }).catch((e: unknown) => e);
            await ctx.send(msg.returnRoute, error instanceof UnsupportedOperationError);
          },
        },
        { placement: "main" },
      );
      expect(await n.sendAndReceive("asker", "?")).toBe(true);
    });
  });

  it("makes a second stopWorker during a stop wait for the same stop, not fail with UnknownAddressError", async () => {
    // A shutdown timeout past the test's: a handler left waiting for its own stop would fail the test.
    await withNode({ shutdownTimeout: 120_000 }, async (n) => {
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const events: string[] = [];
      await n.startWorker(
        "slow",
        {
          handleMessage() {},
          async shutdown() {
            await gate;
            events.push("shutdown done");
          },
        },
        { placement: "main" },
      );
      const first = n.stopWorker("slow").then(() => events.push("first returned"));
      const second = n.stopWorker("slow").then(() => events.push("second returned"));
      await new Promise((resolve) => setImmediate(resolve));
      expect(events).toEqual([]);
      release();
      await Promise.all([first, second]);
      expect(events).toEqual(["shutdown done", "first returned", "second returned"]);
      // Once stopped, the address is unknown again.
      await expect(n.stopWorker("slow")).rejects.toBeInstanceOf(UnknownAddressError);

      // A handler that asks for its own stop twice is not left waiting for itself.
      let handled!: (what: string) => void;
      const outcome = new Promise<string>((resolve) => (handled = resolve));
      await n.startWorker(
        "twice",
        {
          async handleMessage(ctx: Context) {
            await ctx.stopWorker(ctx.address);
            await ctx.stopWorker(ctx.address);
            handled("asked twice");
          },
          shutdown() {
            handled("shut down first");
          },
        },
        { placement: "main" },
      );
      await n.send("twice", "go");
      expect(await outcome).toBe("asked twice");
    });
  });

  it("lets a worker stop itself, or the node, from its handler without deadlock", async () => {
    const n = await (await import("@hopwire/runtime")).node();
    const events: string[] = [];
    await n.startWorker(
      "self",
      {
        async handleMessage(ctx: Context, msg: Routed) {
          await new Promise((resolve) => setImmediate(resolve));
          await ctx.stopWorker(ctx.address);
          events.push("stopWorker returned");
          await ctx.send(msg.returnRoute, "stopping");
        },
        async shutdown(ctx: Context) {
          events.push("shutdown");
          await ctx.send("app", "shut down");
        },
      },
      { placement: "main" },
    );
    await n.send("self", "go");
    expect((await n.receive({ timeout: 5_000 })).body).toBe("stopping");
    expect((await n.receive({ timeout: 5_000 })).body).toBe("shut down");
    expect(events).toEqual(["stopWorker returned", "shutdown"]);
    await expect(n.send("self", "x")).rejects.toBeInstanceOf(UnknownAddressError);

    let stopped!: () => void;
    const nodeStopped = new Promise<void>((resolve) => (stopped = resolve));
    await n.startWorker(
      "stopper",
      {
        async handleMessage(ctx: Context) {
          await new Promise((resolve) => setImmediate(resolve));
          await ctx.stop();
          events.push("stop returned");
        },
        shutdown() {
          events.push("stopper shutdown");
          stopped();
        },
      },
      { placement: "main" },
    );
    await n.send("stopper", "go");
    await nodeStopped;
    expect(n.stopped).toBe(true);
    expect(events.slice(2)).toEqual(["stop returned", "stopper shutdown"]);
    await n.stop();
  });

  it("runs a processor on the main thread; its stop waits for the process call in progress", async () => {
    await withNode({}, async (n) => {
      const events: string[] = [];
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const processor: Processor = {
        async process(ctx) {
          events.push("process");
          await ctx.send("app", "entered");
          await gate;
          events.push("process done");
          return true;
        },
        shutdown() {
          events.push("shutdown");
        },
      };
      await n.startProcessor("proc", processor, { placement: "main" });
      await n.receive({ timeout: 5_000 });
      const stopping = n.stopWorker("proc");
      release();
      await stopping;
      expect(events).toEqual(["process", "process done", "shutdown"]);
      await n.startProcessor("ticker", Ticker, { placement: "main", args: ["app", 2] });
      const got = [await n.receive({ timeout: 5_000 }), await n.receive({ timeout: 5_000 }), await n.receive({ timeout: 5_000 })].map((m) => m.body);
      expect(got).toEqual([{ tick: 0 }, { tick: 1 }, "ticker down"]);
    });
  });
});
