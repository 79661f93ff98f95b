import { describe, expect, it } from "vitest";
import { threadId } from "node:worker_threads";
import { Address, InvalidOptionError, UnknownAddressError, WorkerLoadError, route, type Context, type Routed } from "@hopwire/runtime";
import {
  ArgsProbe,
  Crasher,
  Echoer,
  OrderChecker,
  Prober,
  Renamed,
  SelfStopper,
  ShutdownReporter,
  ThrowingConstructor,
  ThrowingInitialize,
  Thrower,
  Ticker,
} from "./fixtures/workers.js";
import { WhereAmI } from "./fixtures/where-am-i.js";
import { captureLogger, withNode } from "./helpers.js";

describe('placement "thread"', () => {
  it("is the default for a worker class: the worker runs on another thread and replies", async () => {
    await withNode({}, async (n) => {
      await n.startWorker("echoer", Echoer);
      expect(await n.sendAndReceive("echoer", "Hello Ockam!")).toBe("Hello Ockam!");
      await n.startWorker("where", WhereAmI);
      const remote = await n.sendAndReceive<number>("where", "?");
      expect(remote).not.toBe(threadId);
      expect(remote).toBeGreaterThan(0);
    });
  });

  it("keeps the worker's state in its thread across messages", async () => {
    await withNode({}, async (n) => {
      await n.startWorker("checker", OrderChecker);
      for (let i = 0; i < 10; i++) await n.send("checker", { from: "app", i });
      expect(await n.sendAndReceive("checker", { report: true })).toEqual({ count: 10, outOfOrder: 0 });
    });
  });

  it("passes constructor arguments through msgpack, keeping Address and Route", async () => {
    await withNode({}, async (n) => {
      await n.startWorker("probe", ArgsProbe, { args: [Address.parse("1#h:1"), route("a => b"), { n: 1, s: "x" }] });
      expect(await n.sendAndReceive("probe", Address.parse("x"))).toEqual({
        addressIsAddress: true,
        address: "1#h:1",
        routeIsRoute: true,
        route: "0#a => 0#b",
        plain: { n: 1, s: "x" },
        bodyAddressIsAddress: true,
      });
    });
  });

  it("delivers to every address and alias of the worker", async () => {
    await withNode({}, async (n) => {
      await n.startWorker(["e1", "e2"], Echoer, { aliases: ["e3"] });
      for (const a of ["e1", "e2", "e3"]) expect(await n.sendAndReceive(a, a)).toBe(a);
    });
  });

  it("fails startWorker with WorkerLoadError, with the cause, when the worker cannot load", async () => {
    await withNode({}, async (n) => {
      class NoModule {
        handleMessage(): void {}
      }
      const noModule = await n.startWorker("w1", NoModule).catch((e: unknown) => e);
      expect(noModule).toBeInstanceOf(WorkerLoadError);
      expect((noModule as Error).message).toMatch(/static `module`/);

      const notExported = await n.startWorker("w2", Renamed).catch((e: unknown) => e);
      expect(notExported).toBeInstanceOf(WorkerLoadError);
      expect((notExported as Error).message).toMatch(/no export named Hidden/);

      const ctor = await n.startWorker("w3", ThrowingConstructor).catch((e: unknown) => e);
      expect(ctor).toBeInstanceOf(WorkerLoadError);
      expect((ctor as WorkerLoadError).code).toBe("WORKER_LOAD_FAILED");
      expect((ctor as Error).cause).toBeInstanceOf(InvalidOptionError);
      expect(((ctor as Error).cause as InvalidOptionError).code).toBe("OPTION_INVALID");

      const init = await n.startWorker("w4", ThrowingInitialize).catch((e: unknown) => e);
      expect(init).toBeInstanceOf(WorkerLoadError);
      expect((init as Error).cause).toBeInstanceOf(UnknownAddressError);

      const args = await n.startWorker("w5", Echoer, { args: [Symbol("not msgpack")] }).catch((e: unknown) => e);
      expect((args as { code?: string }).code).toBe("ENCODE_FAILED");

      // None of them kept an address, and the node still works.
      for (const a of ["w1", "w2", "w3", "w4", "w5"]) await expect(n.send(a, "x")).rejects.toBeInstanceOf(UnknownAddressError);
      await n.startWorker("w4", Echoer);
      expect(await n.sendAndReceive("w4", "ok")).toBe("ok");
    });
  });

  it("logs a handler that throws, and the worker keeps running", async () => {
    const { logger, lines } = captureLogger();
    await withNode({ logger }, async (n) => {
      await n.startWorker("thrower", Thrower);
      await n.send("thrower", "throw");
      // The error report travels in the same ordered stream as the next reply.
      expect(await n.sendAndReceive("thrower", "still here")).toBe("still here");
      const line = lines.find((l) => l.includes("failed to handle a message"));
      expect(line).toMatch(/hopwire:worker warn worker 0#thrower failed to handle a message/);
      expect(line).toMatch(/WORKER_HANDLER_FAILED/);
      expect(line).toMatch(/boom from a handler/);
    });
  });

  it("runs a processor's loop in its thread until process returns false, then its shutdown", async () => {
    await withNode({}, async (n) => {
      await n.startProcessor("ticker", Ticker, { args: ["app", 3] });
      const got: unknown[] = [];
      for (let i = 0; i < 4; i++) got.push((await n.receive({ timeout: 10_000 })).body);
      expect(got).toEqual([{ tick: 0 }, { tick: 1 }, { tick: 2 }, "ticker down"]);
    });
  });

  it("starts and stops other workers from a thread worker", async () => {
    await withNode({}, async (n) => {
      await n.startWorker("prober", Prober);
      expect(await n.sendAndReceive("prober", { op: "startWorker", address: "child" })).toEqual({ ok: true, value: null });
      expect(await n.sendAndReceive("child", "from a worker started by a worker")).toBe("from a worker started by a worker");
      expect(await n.sendAndReceive("prober", { op: "stopWorker", address: "child" })).toEqual({ ok: true, value: null });
      await expect(n.send("child", "x")).rejects.toBeInstanceOf(UnknownAddressError);
      const missing = await n.sendAndReceive<{ ok: boolean; error: { code: string } }>("prober", { op: "stopWorker", address: "child" });
      expect(missing.error.code).toBe("ADDRESS_UNKNOWN");
    });
  });

  it("lets a thread worker stop itself from its handler; its shutdown runs after the handler", async () => {
    await withNode({}, async (n) => {
      await n.startWorker("self", SelfStopper, { args: ["app"] });
      await n.send("self", "stop yourself");
      const first = await n.receive({ timeout: 10_000 });
      const second = await n.receive({ timeout: 10_000 });
      expect([first.body, second.body]).toEqual(["stopping", "shutdown of self"]);
      await expect(n.send("self", "x")).rejects.toBeInstanceOf(UnknownAddressError);
    });
  });

  it("stopWorker runs the worker's shutdown in its thread and frees its address", async () => {
    await withNode({}, async (n) => {
      await n.startWorker("reporter", ShutdownReporter, { args: ["app"] });
      expect(await n.sendAndReceive("reporter", "hi")).toBe("hi");
      await n.stopWorker("reporter");
      expect((await n.receive({ timeout: 10_000 })).body).toBe("shutdown of reporter");
      await expect(n.send("reporter", "x")).rejects.toBeInstanceOf(UnknownAddressError);
      await n.startWorker("reporter", Echoer);
      expect(await n.sendAndReceive("reporter", "again")).toBe("again");
    });
  });

  it("survives a thread that crashes: the worker is gone, logged, and the node keeps running", async () => {
    const { logger, waitForLine } = captureLogger();
    await withNode({ logger }, async (n) => {
      await n.startWorker("crasher", Crasher);
      await n.startWorker("echoer", Echoer);
      await n.send("crasher", "crash");
      await waitForLine(/the thread of 0#crasher failed.*crash outside a handler/);
      await expect(n.send("crasher", "x")).rejects.toBeInstanceOf(UnknownAddressError);
      expect(await n.sendAndReceive("echoer", "alive")).toBe("alive");
    });
  });

  it("routes between two thread workers without the main thread's workers", async () => {
    await withNode({}, async (n) => {
      class Hop {
        async handleMessage(ctx: Context, msg: Routed): Promise<void> {
          await ctx.forward(msg.message.withOnwardRoute(msg.onwardRoute.popFront()).withReturnRoute(msg.returnRoute.prepend(ctx.address)));
        }
      }
      await n.startWorker("echoer", Echoer);
      await n.startWorker("prober", Prober);
      await n.startWorker("hop", new Hop(), { placement: "main" });
      // prober (thread) -> hop (main) -> echoer (thread) -> hop -> prober
      expect(await n.sendAndReceive("prober", { op: "sendAndReceive", target: "hop => echoer" })).toEqual({ ok: true, value: "probe" });
    });
  });
});
