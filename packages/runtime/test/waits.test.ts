import { describe, expect, it } from "vitest";
import { getEventListeners } from "node:events";
import { fileURLToPath } from "node:url";
import { AbortError, Address, InvalidOptionError, RouteUnavailableError, TimeoutError, waitFor, type Context, type Routed } from "@hopwire/runtime";
import { Prober, Silent, Sink } from "./fixtures/workers.js";
import { invalidOption, withNode } from "./helpers.js";
import { runToExit, type Finished } from "../../../test/support/children.js";
import { eventually } from "../../../test/support/eventually.js";
import { recordProcessEvents } from "../../../test/support/process-events.js";

describe("receive and sendAndReceive: timeouts and AbortSignal", () => {
  it("receive times out with TimeoutError", async () => {
    await withNode({}, async (n) => {
      const error = await n.receive({ timeout: 20 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TimeoutError);
      expect((error as TimeoutError).code).toBe("TIMEOUT");
    });
  });

  it("receive is cancelled by its AbortSignal, also when already aborted", async () => {
    await withNode({}, async (n) => {
      const controller = new AbortController();
      const pending = n.receive({ signal: controller.signal });
      controller.abort(new Error("no longer needed"));
      const error = await pending.catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AbortError);
      expect((error as Error).cause).toMatchObject({ message: "no longer needed" });
      await expect(n.receive({ signal: AbortSignal.abort() })).rejects.toBeInstanceOf(AbortError);
      // A cancelled receive leaves no waiter behind: the next message goes to the next receive.
      await n.send("app", "after");
      expect((await n.receive({ timeout: 1_000 })).body).toBe("after");
    });
  });

  it("sendAndReceive times out (explicit timeout and the node's default) and is cancelled by its signal", async () => {
    await withNode({ sendAndReceiveTimeout: 50 }, async (n) => {
      await n.startWorker("silent", Silent);
      await expect(n.sendAndReceive("silent", "x", { timeout: 20 })).rejects.toBeInstanceOf(TimeoutError);
      await expect(n.sendAndReceive("silent", "x")).rejects.toBeInstanceOf(TimeoutError);
      const controller = new AbortController();
      const pending = n.sendAndReceive("silent", "x", { timeout: 60_000, signal: controller.signal });
      controller.abort();
      await expect(pending).rejects.toBeInstanceOf(AbortError);
      await expect(n.sendAndReceive("silent", "x", { signal: AbortSignal.abort() })).rejects.toBeInstanceOf(AbortError);
    });
  });

  it("on the main thread, a short timeout fires on time while a longer call waits, and a settled call leaves no address behind", async () => {
    // One timer serves every call's deadline: it must be re-armed for an earlier one.
    await withNode({}, async (n) => {
      await n.startWorker("silent", { handleMessage: () => {} }, { placement: "main" });
      await n.startWorker("echoer", { handleMessage: (ctx: Context, msg: Routed) => ctx.send(msg.returnRoute, msg.body) }, { placement: "main" });
      const registered = n.router.addresses().length;
      const controller = new AbortController();
      const aborted = n.sendAndReceive("silent", "x", { timeout: 60_000, signal: controller.signal }).catch((e: unknown) => e);
      const long = n.sendAndReceive("silent", "x", { timeout: 1_500 }).catch((e: unknown) => e);
      const short = await n.sendAndReceive("silent", "x", { timeout: 30 }).catch((e: unknown) => e);
      expect(short).toBeInstanceOf(TimeoutError);
      expect((short as Error).message).toMatch(/^sendAndReceive to 0#silent timed out after 30 ms$/);
      // Answered calls pile up settled deadlines behind the waiting ones; dropping them must keep those.
      for (let i = 0; i < 300; i++) expect(await n.sendAndReceive("echoer", i)).toBe(i);
      expect(n.router.addresses().length).toBe(registered + 2); // the waiting calls' reply addresses, nothing else
      expect(await long).toBeInstanceOf(TimeoutError);
      controller.abort();
      expect(await aborted).toBeInstanceOf(AbortError);
      expect(n.router.addresses().length).toBe(registered);
    });
  });

  it("a call to a thread or pool worker of this node that times out does not claim it went through another node", async () => {
    // The hint about "a node along the route" is for a first hop that is a connection or a
    // secure channel; a thread worker's host once passed for one (its field `kind` was read
    // as the mailbox's kind), so a silent thread worker's timeout sent the reader to warnings
    // that could not exist.
    await withNode({}, async (n) => {
      await n.startWorker("silent-thread", Silent);
      await n.startWorker("silent-pool", Silent, { placement: "pool" });
      for (const address of ["silent-thread", "silent-pool"]) {
        const error = await n.sendAndReceive(address, "x", { timeout: 30 }).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(TimeoutError);
        expect((error as Error).message).toBe(`sendAndReceive to 0#${address} timed out after 30 ms`);
      }
    });
  });

  it("on the main thread, a waiting call keeps the process alive until its timeout, and an answered one does not", async () => {
    const answered = await runChild("answered");
    expect(answered.timedOut, "the process stayed up after its call was answered").toBe(false);
    expect(answered.stdout.trim()).toBe("reply hi");
    const pending = await runChild("pending");
    expect(pending.timedOut).toBe(false);
    expect(pending.stdout.trim(), "the process exited before the call timed out").toBe("failed TIMEOUT");
  });

  it("inside a thread worker: sendAndReceive times out, is aborted, and fails fast when its first hop stops", async () => {
    await withNode({}, async (n) => {
      await n.startWorker("prober", Prober);
      await n.startWorker("sink", Sink, { args: ["app"] });
      const timedOut = await n.sendAndReceive<{ ok: boolean; error: Record<string, unknown> }>("prober", { op: "sendAndReceive", target: "sink", timeout: 30 });
      expect(timedOut.error).toMatchObject({ code: "TIMEOUT", isTimeout: true });
      expect((await n.receive({ timeout: 5_000 })).body).toBe("got it");

      const aborted = await n.sendAndReceive<{ ok: boolean; error: Record<string, unknown> }>("prober", { op: "abortedSendAndReceive", target: "sink" });
      expect(aborted.error).toMatchObject({ code: "ABORTED", name: "AbortError" });
      // The aborted request had already been sent: it reached the sink.
      expect((await n.receive({ timeout: 5_000 })).body).toBe("got it");

      // A request waiting on a hop that stops fails with RouteUnavailableError, not at its timeout.
      const pending = n.sendAndReceive<{ ok: boolean; error: Record<string, unknown> }>("prober", { op: "sendAndReceive", target: "sink", timeout: 60_000 });
      expect((await n.receive({ timeout: 5_000 })).body).toBe("got it");
      await n.stopWorker("sink");
      expect((await pending).error).toMatchObject({ code: "ROUTE_UNAVAILABLE", isRouteUnavailable: true });
    });
  });

  it("a hop unregistered with a reason that is a RouteUnavailableError fails pending requests with that reason itself", async () => {
    // What a closed secure channel does: its callers get its typed reason, not a generic wrapper.
    class HopClosedError extends RouteUnavailableError {
      override readonly code: string = "TEST_HOP_CLOSED";
    }
    await withNode({}, async (n) => {
      const [passedOn, wrapped] = [Address.random(), Address.random()];
      for (const a of [passedOn, wrapped]) n.router.register([a], { address: a, deliver() {} });
      const first = n.sendAndReceive(passedOn, "x", { timeout: 60_000 }).catch((e: unknown) => e);
      const second = n.sendAndReceive(wrapped, "x", { timeout: 60_000 }).catch((e: unknown) => e);
      await new Promise((resolve) => setImmediate(resolve));
      const reason = new HopClosedError("closed");
      const other = new Error("some other reason");
      n.router.unregister([passedOn], reason);
      n.router.unregister([wrapped], other);
      expect(await first).toBe(reason);
      const error = await second;
      expect(error).toBeInstanceOf(RouteUnavailableError);
      expect((error as Error).cause).toBe(other);
    });
  });
});

describe("waitFor: what it is given, and what it leaves behind", () => {
  // A string as `signal` threw in addEventListener after the timer was armed: the call
  // rejected, then the timer's cleanup threw uncaught (removeEventListener is not a
  // function) and the process died, even with every node stopped.
  const uncaught = recordProcessEvents("uncaughtException");

  /** Resolves once a wait of `ms` armed now has timed out: every timer of `ms` armed before it has fired. */
  async function pastTimersOf(ms: number): Promise<void> {
    let timedOut = false;
    void waitFor<void>(() => {}, { what: "control", timeout: ms }).catch((error: unknown) => (timedOut = error instanceof TimeoutError));
    await eventually(() => timedOut, 5_000, `a control wait of ${ms} ms timing out`);
  }

  it("a signal that is not an AbortSignal, or a timeout that is not a number, rejects with InvalidOptionError, and nothing fires later", async () => {
    const bad: [string, Record<string, unknown>][] = [
      ["signal", { signal: "x", timeout: 20 }],
      ["signal", { signal: {}, timeout: 20 }],
      ["signal", { signal: { aborted: false }, timeout: 20 }],
      ["signal", { signal: null }],
      ["timeout", { timeout: "20" }],
    ];
    for (const [option, options] of bad) {
      let started = 0;
      let cleanedUp = 0;
      const error = await waitFor<void>(() => void started++, { what: "probe", cleanup: () => void cleanedUp++, ...(options as object) }).catch((e: unknown) => e);
      expect(error, JSON.stringify(options)).toBeInstanceOf(InvalidOptionError);
      expect(error, JSON.stringify(options)).toEqual(invalidOption(option, new RegExp(`^waitFor options: ${option} must be`)));
      expect([started, cleanedUp], "start never runs; cleanup runs once").toEqual([0, 1]);
    }
    await pastTimersOf(20);
    expect(uncaught).toEqual([]);
  });

  it("whichever way it settles, no abort listener is left on the signal (and a cleanup that throws rejects the wait)", async () => {
    const { signal } = new AbortController();
    const listeners = (): number => getEventListeners(signal, "abort").length;
    await expect(waitFor<number>((resolve) => resolve(1), { what: "resolved", signal, timeout: 1_000 })).resolves.toBe(1);
    expect(listeners()).toBe(0);
    await expect(waitFor<void>(() => {}, { what: "slow", signal, timeout: 10 })).rejects.toBeInstanceOf(TimeoutError);
    expect(listeners()).toBe(0);
    await expect(
      waitFor<void>(
        () => {
          throw new Error("start failed");
        },
        { what: "throwing", signal, timeout: 1_000 },
      ),
    ).rejects.toThrow("start failed");
    expect(listeners()).toBe(0);
    // Called from the timer, a throwing cleanup was uncaught: now it is the wait's rejection.
    await expect(
      waitFor<void>(() => {}, {
        what: "cleanup",
        signal,
        timeout: 10,
        cleanup: () => {
          throw new Error("cleanup failed");
        },
      }),
    ).rejects.toThrow("cleanup failed");
    expect(listeners()).toBe(0);
    expect(uncaught).toEqual([]);
  });

  it("the node's calls that take a signal reject a non-AbortSignal before they wait, and nothing fires later", async () => {
    await withNode({}, async (n) => {
      await n.startWorker("silent", Silent);
      await expect(n.sendAndReceive("silent", "x", { signal: "x" as never, timeout: 20 })).rejects.toEqual(invalidOption("signal"));
      await expect(n.receive({ signal: "x" as never, timeout: 20 })).rejects.toEqual(invalidOption("signal"));
      await expect(n.send("silent", "x", { signal: "x" as never, timeout: 20 })).rejects.toEqual(invalidOption("signal"));
      await pastTimersOf(20);
    });
    expect(uncaught).toEqual([]);
  });
});

/** Runs fixtures/deadline-child.js; killed if it has not exited by itself within 10 s. */
function runChild(mode: string): Promise<Finished> {
  return runToExit([fileURLToPath(new URL("./fixtures/deadline-child.js", import.meta.url)), mode], { timeoutMs: 10_000 });
}
