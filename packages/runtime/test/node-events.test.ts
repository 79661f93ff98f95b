import { describe, expect, it } from "vitest";
import { fileURLToPath } from "node:url";
import {
  Address,
  UnknownAddressError,
  WorkerHandlerError,
  node,
  startRelay,
  route,
  type Context,
  type HandlerErrorEvent,
  type DroppedEvent,
  type Node,
  type NodeWarning,
  type WorkerFailedEvent,
} from "@hopwire/runtime";
import { BusyEchoer, Crasher, Echoer, Prober, Relay, Thrower, UnawaitedSender } from "./fixtures/workers.js";
import { withNode } from "./helpers.js";
import { runToExit } from "../../../test/support/children.js";

/** A warning sink that keeps each line and, beside it, the warning in fields. */
function sink(): { lines: string[]; warnings: NodeWarning[]; warn: (line: string, warning: NodeWarning) => void } {
  const lines: string[] = [];
  const warnings: NodeWarning[] = [];
  return { lines, warnings, warn: (line, warning) => (lines.push(line), warnings.push(warning)) };
}

/** Resolves with the next `count` events of `name`. */
function events<T>(n: Node, name: "handler-error" | "dropped" | "worker-failed", count: number): Promise<T[]> {
  const seen: T[] = [];
  return new Promise((resolve) => {
    const listener = (event: unknown): void => {
      seen.push(event as T);
      if (seen.length === count) {
        n.off(name, listener);
        resolve(seen);
      }
    };
    n.on(name, listener);
  });
}

describe("node events and warnings", () => {
  for (const placement of ["main", "thread", "pool"] as const) {
    it(`raises "handler-error" on the node and warns once per cause, for a worker placed "${placement}"`, async () => {
      const { lines, warnings, warn } = sink();
      let firstEvent: HandlerErrorEvent | undefined;
      await withNode({ name: "n1", warnings: warn }, async (n) => {
        const worker = placement === "main" ? new Thrower() : Thrower;
        await n.startWorker("thrower", worker as typeof Thrower, { placement });
        const raised = events<HandlerErrorEvent>(n, "handler-error", 2);
        await n.send("thrower", "throw");
        await n.send("thrower", "throw");
        const [first, second] = await raised;
        firstEvent = first;
        expect(first).toMatchObject({ worker: "thrower", what: "handleMessage" });
        expect(second!.worker).toBe("thrower");
        // The thrown error arrives rebuilt on the main thread, its own message saying what it was
        // (README's first app prints e.error.message), cause included.
        // The same on every placement (placed "main", it used to be the raw error).
        expect(first!.error).toMatchObject({ code: "WORKER_HANDLER_FAILED", message: "A worker's handler threw: boom from a handler" });
        expect((first!.error.cause as Error | undefined)?.message).toBe("boom from a handler");
        // Its stack is the one of the thread that threw: it names the handler's file, not the
        // runtime's code that rebuilt it on the main thread.
        expect((first!.error.cause as Error).stack).toMatch(/^Error: boom from a handler\n\s+at Thrower\.handleMessage \(.*fixtures\/workers\.js:\d+/);
        // The worker keeps running.
        expect(await n.sendAndReceive("thrower", "still here", { timeout: 20_000 })).toBe("still here");
      });
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^hopwire \[n1\] warning: worker "thrower" threw in handleMessage: Error: boom from a handler\. /);
      expect(lines[0]).toContain("a sendAndReceive on this node that sent it fails with WorkerHandlerError, any other sender gets no reply");
      // In fields: the event's, the line's parts, nothing held back yet (the second throw is).
      const { parts, ...fields } = warnings[0]!;
      expect(fields).toEqual({ kind: "handler-error", ...firstEvent, suppressed: 0, sharedLimit: false });
      expect(fields.kind === "handler-error" && fields.error).toBe(firstEvent!.error);
      expect(parts.prefix).toBe("hopwire [n1] warning:");
      expect(parts.suffix).toBe("");
      expect(`${parts.prefix} ${parts.body}`).toBe(lines[0]);
    });
  }

  for (const [cause, worker, thrown, errorClass, madeAt] of [
    // The stack where it was made: the main thread's router for the send's routing error, the worker's file for its own throw.
    ["a send nobody awaited or caught rejects", UnawaitedSender, /UnknownAddressError.*nowhere/, UnknownAddressError, /at Router\.route /],
    ["an error is thrown outside a handler", Crasher, /Error: crash outside a handler/, Error, /fixtures\/workers\.js:\d+/],
  ] as const) {
    it(`raises "worker-failed" and warns when a worker's thread ends because ${cause}; stopping raises nothing`, async () => {
      const { lines, warnings, warn } = sink();
      const failed: WorkerFailedEvent[] = [];
      await withNode({ name: "n1", warnings: warn }, async (n) => {
        n.on("worker-failed", (event) => failed.push(event));
        await n.startWorker("us", worker as never);
        await n.startWorker("bystander", Echoer);
        const raised = events<WorkerFailedEvent>(n, "worker-failed", 1);
        await n.send("us", "go");
        const [event] = await raised;
        expect(event!.worker).toBe("us");
        expect(`${event!.error.name}: ${event!.error.message}`).toMatch(thrown);
        // Rebuilt as its own class (a thread's error arrives as a plain Error), its stack the thread's.
        expect(event!.error).toBeInstanceOf(errorClass);
        expect(event!.error.stack).toMatch(madeAt);
        await expect(n.send("us", "again")).rejects.toBeInstanceOf(UnknownAddressError);
        expect(await n.sendAndReceive("bystander", "alive", { timeout: 20_000 })).toBe("alive");
      });
      // The bystander's thread ended with the node's stop: not a failure.
      expect(failed.map((e) => e.worker)).toEqual(["us"]);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^hopwire \[n1\] warning: worker "us" is gone: its thread ended on /);
      expect(lines[0]).toMatch(thrown);
      expect(lines[0]).toContain("Await or .catch() the promises a handler starts");
      const { parts: _parts, ...fields } = warnings[0]!;
      expect(fields).toEqual({ kind: "worker-failed", ...failed[0], suppressed: 0, sharedLimit: false });
    });
  }

  for (const placement of ["main", "thread", "pool"] as const) {
    it(`a sendAndReceive of this node whose handler throws fails at once with the handler's error, placed "${placement}"`, async () => {
      await withNode({ warnings: false }, async (n) => {
        const worker = placement === "main" ? new Thrower() : Thrower;
        await n.startWorker("thrower", worker as typeof Thrower, { placement });
        // Well inside the test's own timeout: a TimeoutError here means the call waited it out.
        const request = n.sendAndReceive("thrower", "throw", { timeout: 20_000 });
        const error = await request.catch((e: unknown) => e);
        expect(error).toBeInstanceOf(WorkerHandlerError);
        expect((error as Error).message).toContain("boom from a handler");
        // The worker keeps running, and a request it answers is answered.
        expect(await n.sendAndReceive("thrower", "fine", { timeout: 20_000 })).toBe("fine");
      });
    }, 60_000);
  }

  for (const placement of ["main", "thread"] as const) {
    it(`a thread worker's sendAndReceive whose handler throws (placed "${placement}") fails at once with the handler's error, not a timeout`, async () => {
      await withNode({ warnings: false }, async (n) => {
        const worker = placement === "main" ? new Thrower() : Thrower;
        await n.startWorker("thrower", worker as typeof Thrower, { placement });
        await n.startWorker("prober", Prober);
        // The prober's own wait is 60 s: a timeout would make this test fail on the name, after it.
        const outcome = (await n.sendAndReceive("prober", { op: "sendAndReceive", target: "thrower", body: "throw", timeout: 60_000 }, { timeout: 90_000 })) as {
          ok: boolean;
          error?: { name: string; message: string };
        };
        expect(outcome.ok).toBe(false);
        expect(outcome.error!.name).toBe("WorkerHandlerError");
        expect(outcome.error!.message).toContain("boom from a handler");
      });
    });
  }

  it("writes warnings to stderr by default, and not at all with { warnings: false } or HOPWIRE_WARNINGS=off", async () => {
    const script = fileURLToPath(new URL("./fixtures/warn-child.js", import.meta.url));
    const run = async (arg: string[]): Promise<{ stdout: string; stderr: string }> => {
      const env = { ...process.env, ...(arg[0] === "env-off" ? { HOPWIRE_WARNINGS: "off" } : {}) };
      if (arg[0] !== "env-off") delete env.HOPWIRE_WARNINGS;
      const { code, stdout, stderr } = await runToExit([script, ...arg], { env, timeoutMs: 60_000 });
      expect(code, stderr).toBe(0);
      return { stdout, stderr };
    };
    const on = await run([]);
    expect(on.stdout).toContain("events 2");
    expect(on.stderr.match(/hopwire warning: worker "thrower" threw in handleMessage/g)).toHaveLength(1);
    const off = await run(["off"]);
    expect(off.stdout).toContain("events 2");
    expect(off.stderr).not.toContain("hopwire warning");
    const envOff = await run(["env-off"]);
    expect(envOff.stdout).toContain("events 2");
    expect(envOff.stderr).not.toContain("hopwire warning");
  }, 90_000);

  it("on, once and off take only the events a node raises and a function: a misspelt name was accepted and never fired", async () => {
    await withNode({}, async (n) => {
      for (const how of ["on", "once", "off"] as const) {
        for (const event of ["denid", 5, undefined]) {
          expect(() => n[how](event as never, () => {}), `${how} ${String(event)}`).toThrow(expect.objectContaining({ code: "OPTION_INVALID", option: "event" }));
        }
        expect(() => n[how]("denied", 5 as never)).toThrow(expect.objectContaining({ code: "OPTION_INVALID", option: "listener", message: expect.stringMatching(/must be a function, got 5/) }));
      }
      expect(() => n.on("denid" as never, () => {})).toThrow(/one of "denied", "dropped", "handler-error", "worker-failed", "refused", got "denid"/);
      // Every name a node raises is taken.
      for (const event of ["denied", "dropped", "handler-error", "worker-failed", "refused"] as const) n.on(event, () => {}).off(event, () => {});
    });
  });

  it('raises "dropped" when a relay\'s next hop does not exist, and the sender still gets its error', async () => {
    const { lines, warnings, warn } = sink();
    await withNode({ warnings: warn }, async (n) => {
      await startRelay(n, "forward", route("nobody"));
      const dropped = events<DroppedEvent>(n, "dropped", 1);
      await expect(n.send("forward", "x")).rejects.toBeInstanceOf(UnknownAddressError);
      const [event] = await dropped;
      expect(event).toMatchObject({ address: "nobody", from: "forward", reason: "unknown-address" });
      expect(event!.error).toBeInstanceOf(UnknownAddressError);
    });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('no worker has the address "nobody" on this node: start it');
    // Its sender may be local, with a send that resolved: not "it sees a timeout".
    expect(lines[0]).toMatch(/The sender is not told: a send had resolved already, and a request \(sendAndReceive\) fails at its timeout\.$/);
    expect(warnings[0]).toMatchObject({ kind: "dropped", address: "nobody", from: "forward", reason: "unknown-address", generated: false, suppressed: 0 });
  });

  it("explainMissing: the latest service's words for its prefix, the earlier one's again once it is removed, the runtime's if one throws", async () => {
    const { lines, warn } = sink();
    await withNode({ warnings: warn }, async (n) => {
      const first = n.explainMissing("forward_to_", () => "first's words");
      const second = n.explainMissing("forward_to_", () => "second's words");
      const thrower = n.explainMissing("thrown_", () => {
        throw new Error("an explainer that throws");
      });
      const dropAt = async (relay: string, to: string): Promise<void> => {
        await startRelay(n, relay, route(to));
        await expect(n.send(relay, "x")).rejects.toBeInstanceOf(UnknownAddressError);
      };
      await dropAt("r1", "forward_to_a");
      second();
      await dropAt("r2", "forward_to_b");
      await dropAt("r3", "thrown_c");
      first();
      thrower();
      await dropAt("r4", "forward_to_d");
      expect(lines.map((l) => /for "[^"]+": ([^.]+)/.exec(l)?.[1])).toEqual([
        "second's words",
        "first's words",
        'no worker has the address "thrown_c" on this node: start it (node',
        'no worker has the address "forward_to_d" on this node: start it (node',
      ]);
    });
  });

  it('says whether the address of a "dropped" warning is a generated one (a late reply), in fields and in words', async () => {
    const { lines, warnings, warn } = sink();
    const generated = Address.random();
    await withNode({ warnings: warn }, async (n) => {
      await startRelay(n, "late", route(generated));
      await expect(n.send("late", "x")).rejects.toBeInstanceOf(UnknownAddressError);
    });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain("(a generated address: likely a reply");
    expect(warnings[0]).toMatchObject({ kind: "dropped", address: generated.key, reason: "unknown-address", generated: true });
  });

  // An address is whatever a peer put in its frame: it could forge lines, drive a terminal, or fill the log.
  it("an address from the network is escaped and cut short in the warning line; the event keeps it whole", async () => {
    const { lines, warn } = sink();
    const forged = "x\nhopwire warning: FORGED\u001b[31m" + "y".repeat(300);
    let event: DroppedEvent | undefined;
    await withNode({ warnings: warn }, async (n) => {
      n.on("dropped", (e) => (event = e));
      await startRelay(n, "late", route(new Address(0, forged)));
      await expect(n.send("late", "x")).rejects.toBeInstanceOf(UnknownAddressError);
    });
    expect(event!.address).toBe(forged);
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toMatch(/[\u0000-\u001f]/);
    expect(lines[0]).toContain('for "x\\u000ahopwire warning: FORGED\\u001b[31myyy');
    expect(lines[0]).toContain(`… (${forged.length} characters)"`);
    expect(lines[0]!.length).toBeLessThan(800);
  });

  it("drops to many generated addresses are one cause: one line a minute, not one per address", async () => {
    const { lines, warn } = sink();
    let drops = 0;
    await withNode({ warnings: warn }, async (n) => {
      n.on("dropped", () => drops++);
      for (let i = 0; i < 20; i++) {
        await startRelay(n, `late${i}`, route(Address.random()));
        await expect(n.send(`late${i}`, "x")).rejects.toBeInstanceOf(UnknownAddressError);
      }
      // A named address is a cause of its own.
      await startRelay(n, "lost", route("nobody"));
      await expect(n.send("lost", "x")).rejects.toBeInstanceOf(UnknownAddressError);
    });
    expect(drops).toBe(21);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toContain("(a generated address: likely a reply");
    expect(lines[1]).toContain('for "nobody"');
  });

  it('raises "dropped" for a message a pool worker sent to an address nobody has (its send had resolved in the slot)', async () => {
    const lines: string[] = [];
    await withNode({ warnings: (line) => lines.push(line) }, async (n) => {
      await n.startWorker("relay", Relay, { placement: "pool", args: ["nobody"] });
      const dropped = events<DroppedEvent>(n, "dropped", 1);
      await n.send("relay", "x");
      const [event] = await dropped;
      expect(event).toMatchObject({ address: "nobody", from: "relay", reason: "unknown-address" });
    });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('dropped a message from relay for "nobody"');
  });

  it("raises \"dropped\" but writes no warning for a reply that reaches a worker the stopping node already stopped", async () => {
    const lines: string[] = [];
    const drops: DroppedEvent[] = [];
    const n = await node({ warnings: (line) => lines.push(line) });
    try {
      await n.startWorker("busy", BusyEchoer, { placement: "pool", args: [300] });
      let asked!: () => void;
      const askedNow = new Promise<void>((resolve) => (asked = resolve));
      await n.startWorker("asker", { handleMessage: (ctx: Context) => ctx.send("busy", "late").then(asked) }, { placement: "main" });
      n.on("dropped", (event) => drops.push(event));
      await n.send("asker", "go");
      await askedNow;
      await new Promise((resolve) => setImmediate(resolve)); // the pool lane's batch is now a task in flight
    } finally {
      // Workers stop in reverse order of start: "asker" is gone when the reply leaves the slot.
      await n.stop();
    }
    expect(drops.map((d) => d.address)).toContain("asker");
    expect(lines.filter((line) => line.includes("dropped"))).toEqual([]);
  });
});
