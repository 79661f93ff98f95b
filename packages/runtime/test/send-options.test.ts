import { describe, expect, it } from "vitest";
import {
  AbortError,
  encodeBody,
  InvalidOptionError,
  LocalMessage,
  route,
  TimeoutError,
  type Context,
  type Routed,
} from "@hopwire/runtime";
import { InfoEcho, InfoForwarder, OptionProber } from "./fixtures/workers.js";
import { invalidOption, nodeError, withNode } from "./helpers.js";
import { eventually } from "../../../test/support/eventually.js";

// README: "an unknown key is an InvalidOptionError that names it". These calls took options
// they never checked: a timeout of "1s" or NaN waited for ever, -5 and 0 timed out at once,
// a misspelt key fell back to the default without a word.

/** What `promise` settled with within `ms`, or "still pending": a wait that never ends fails fast. */
async function outcome(promise: Promise<unknown>, ms = 1_000): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  const pending = new Promise((resolve) => (timer = setTimeout(() => resolve("still pending"), ms)));
  try {
    return await Promise.race([promise.then((value) => ({ resolved: value }), (error: unknown) => error), pending]);
  } finally {
    clearTimeout(timer);
  }
}

/** A worker on the main thread that never replies. */
const silent = { handleMessage: () => {} };

describe("send and sendAndReceive options on the main thread", () => {
  it("a timeout that is not a positive number of ms (or Infinity) is an InvalidOptionError naming it, not a wait for ever or an instant timeout", async () => {
    await withNode({ sendAndReceiveTimeout: 3_000 }, async (n) => {
      await n.startWorker("s", silent, { placement: "main" });
      const registered = n.router.addresses().length;
      for (const timeout of ["1s", Number.NaN, -5, 0, 2 ** 31]) {
        const got = await outcome(n.sendAndReceive("s", "x", { timeout: timeout as number }));
        expect(got, `timeout ${String(timeout)}`).toBeInstanceOf(InvalidOptionError);
        expect(got, `timeout ${String(timeout)}`).toMatchObject({ option: "timeout", message: expect.stringMatching(/^sendAndReceive options: timeout must be a positive number/) });
      }
      // A rejected call left no reply address behind.
      expect(n.router.addresses().length).toBe(registered);
    });
  });

  it("a misspelt key is an InvalidOptionError that suggests the right one (it fell back to the node's default)", async () => {
    await withNode({ sendAndReceiveTimeout: 3_000 }, async (n) => {
      await n.startWorker("s", silent, { placement: "main" });
      const got = await outcome(n.sendAndReceive("s", "x", { timeot: 100 } as never));
      expect(got).toBeInstanceOf(InvalidOptionError);
      expect((got as InvalidOptionError).option).toBe("timeot");
      expect((got as Error).message).toBe('sendAndReceive options: unknown option "timeot"; did you mean "timeout"? known options: timeout, signal, localInfo, maxDecodedBytes');
    });
  });

  it("Infinity is no deadline (the call waits until its signal aborts it); a small positive timeout still times out", async () => {
    await withNode({ sendAndReceiveTimeout: 20 }, async (n) => {
      await n.startWorker("s", silent, { placement: "main" });
      const controller = new AbortController();
      const waiting = n.sendAndReceive("s", "x", { timeout: Infinity, signal: controller.signal });
      // Past the node's default of 20 ms, it still waits.
      expect(await outcome(waiting, 200)).toBe("still pending");
      controller.abort();
      await expect(waiting).rejects.toBeInstanceOf(AbortError);
      await expect(n.sendAndReceive("s", "x", { timeout: 1 })).rejects.toBeInstanceOf(TimeoutError);
    });
  });

  it("send and forward reject a bad timeout, an unknown key and a signal that is not an AbortSignal, and send nothing", async () => {
    await withNode({}, async (n) => {
      // Tells the node's own context what it got.
      await n.startWorker("e", { handleMessage: (ctx: Context, m: Routed) => ctx.send("app", m.body) }, { placement: "main" });
      await expect(n.send("e", "x", { timeout: -5 })).rejects.toEqual(invalidOption("timeout", /^send options: timeout must be/));
      await expect(n.send("e", "x", { timeout: "5" as never })).rejects.toEqual(invalidOption("timeout"));
      await expect(n.send("e", "x", { timout: 100 } as never)).rejects.toEqual(invalidOption("timout", /did you mean "timeout"\?/));
      await expect(n.send("e", "x", { signal: "stop" as never })).rejects.toEqual(invalidOption("signal"));
      await expect(n.send("e", "x", null as never)).rejects.toBeInstanceOf(InvalidOptionError);
      const message = new LocalMessage(route("e"), route("app"), encodeBody("forwarded"));
      await expect(n.forward(message, { timeout: 0 })).rejects.toEqual(invalidOption("timeout", /^forward options: /));
      await expect(n.forward(message, { timeoutMs: 5 } as never)).rejects.toEqual(invalidOption("timeoutMs", /did you mean "timeout"\?/));
      // What the options allow still goes, and only that.
      await n.send("e", "sent", { timeout: 5_000 });
      await n.send("e", "sent too", { timeout: Infinity, signal: new AbortController().signal });
      await n.forward(message, { timeout: 5_000 });
      const got: unknown[] = [];
      for (let i = 0; i < 3; i++) got.push((await n.receive({ timeout: 5_000 })).body);
      expect(got).toEqual(["sent", "sent too", "forwarded"]);
      await expect(n.receive({ timeout: 50 })).rejects.toBeInstanceOf(TimeoutError);
    });
  });

  it("a signal already aborted cancels send, forward and sendAndReceive before anything is sent, on every placement", async () => {
    await withNode({}, async (n) => {
      const got: unknown[] = [];
      await n.startWorker("sink", { handleMessage: (_ctx: Context, m: Routed) => void got.push(m.body) }, { placement: "main" });
      const signal = AbortSignal.abort(new Error("cancelled"));
      const aborted = (error: unknown): boolean => error instanceof AbortError && (error.cause as Error).message === "cancelled";
      expect(aborted(await outcome(n.send("sink", "never", { signal })))).toBe(true);
      expect(aborted(await outcome(n.send("sink", Uint8Array.of(1), { signal })))).toBe(true); // a bytes body takes a shortcut
      expect(aborted(await outcome(n.forward(new LocalMessage(route("sink"), route("app"), encodeBody("never")), { signal })))).toBe(true);
      expect(aborted(await outcome(n.sendAndReceive("sink", "never", { signal })))).toBe(true);
      for (const placement of ["thread", "pool"] as const) {
        await n.startWorker(`prober-${placement}`, OptionProber, { placement });
        const ops = placement === "pool" ? ["send", "forward"] : ["send", "forward", "sendAndReceive"];
        for (const op of ops) {
          const answer = await n.sendAndReceive<Record<string, unknown>>(`prober-${placement}`, { op, target: "sink", aborted: true }, { timeout: 20_000 });
          expect(answer, `${op} from a worker placed "${placement}"`).toMatchObject({ name: "AbortError", code: "ABORTED", message: `${op} was aborted before it started: nothing was sent` });
        }
      }
      // Each prober's reply came after its sends were routed: a marker sent now arrives after anything they sent.
      await n.send("sink", "marker");
      await eventually(() => got.length > 0);
      expect(got).toEqual(["marker"]);
    });
  });

  it("receive checks its options the same way", async () => {
    await withNode({}, async (n) => {
      await expect(n.receive({ timeout: -1 })).rejects.toEqual(invalidOption("timeout", /^receive options: /));
      await expect(n.receive({ timeot: 5 } as never)).rejects.toEqual(invalidOption("timeot"));
    });
  });
});

describe("localInfo must be a plain object", () => {
  // Only the keys were checked: a string, an array or bytes as localInfo went out. To a thread
  // worker the envelope was dropped ("Local info must be a map") while the send resolved, and
  // a sendAndReceive waited out its timeout; to a main worker it arrived as that value.
  const bad: [string, unknown][] = [
    ["a string", "s"],
    ["an array", [1]],
    ["bytes", Uint8Array.of(1, 2)],
    ["null", null],
    ["a number", 5],
    ["a Map", new Map([["tenant", "a"]])],
  ];

  for (const placement of ["main", "thread"] as const) {
    it(`send, sendAndReceive and forward to a ${placement}-placed worker reject it with InvalidOptionError, and send nothing`, async () => {
      await withNode({ sendAndReceiveTimeout: 3_000 }, async (n) => {
        await n.startWorker("info", InfoEcho, { placement });
        const registered = n.router.addresses().length;
        for (const [what, localInfo] of bad) {
          const options = { localInfo: localInfo as never };
          const forwarded = new LocalMessage(route("info"), route("app"), encodeBody("forwarded"));
          for (const [call, promise] of [
            ["send", n.send("info", "bad", options)],
            ["sendAndReceive", n.sendAndReceive("info", "bad", options)],
            ["forward", n.forward(forwarded, options)],
          ] as const) {
            const got = await outcome(promise, 5_000);
            expect(got, `${call} with ${what}`).toBeInstanceOf(InvalidOptionError);
            expect(got, `${call} with ${what}`).toEqual(invalidOption("localInfo", new RegExp(`^${call} options: localInfo must be a plain object`)));
            expect((got as InvalidOptionError).code).toBe("OPTION_INVALID");
          }
        }
        // No reply address was left behind, and nothing went: the good send is the first to arrive.
        expect(n.router.addresses().length).toBe(registered);
        await n.send("info", "good", { localInfo: { tenant: "a" } });
        expect((await n.receive({ timeout: 5_000 })).body).toEqual({ body: "good", localInfo: { tenant: "a" } });
        expect(await n.sendAndReceive("info", "asked", { localInfo: Object.freeze({ tenant: "b" }) })).toEqual({ body: "asked", localInfo: { tenant: "b" } });
        expect(await n.sendAndReceive("info", "none", { localInfo: undefined })).toEqual({ body: "none", localInfo: {} });
        await expect(n.receive({ timeout: 50 })).rejects.toBeInstanceOf(TimeoutError);
      });
    });
  }

  it("from a worker's thread, send and sendAndReceive reject it there with InvalidOptionError (it was a DecodeError)", async () => {
    await withNode({ sendAndReceiveTimeout: 3_000 }, async (n) => {
      await n.startWorker("info", InfoEcho);
      await n.startWorker("prober", OptionProber);
      const ask = (body: unknown) => n.sendAndReceive<Record<string, unknown>>("prober", body, { timeout: 20_000 });
      for (const localInfo of ["s", [1], Uint8Array.of(1, 2), null]) {
        for (const op of ["send", "sendAndReceive"]) {
          expect(await ask({ op, target: "info", options: { localInfo } }), `${op} with ${String(localInfo)}`).toEqual(
            invalidOption("localInfo", new RegExp(`^${op} options: localInfo must be a plain object`)),
          );
        }
      }
      expect(await ask({ op: "sendAndReceive", target: "info", options: { localInfo: { tenant: "a" } } })).toEqual({ ok: true });
    });
  });

  it('ifFull is "wait" or "drop", on send and forward only, checked where the caller is', async () => {
    await withNode({ sendAndReceiveTimeout: 3_000 }, async (n) => {
      await n.startWorker("sink", silent, { placement: "main" });
      const message = new LocalMessage(route("sink"), route(n.address), encodeBody("x"));
      for (const ifFull of ["later", true, null]) {
        await expect(n.send("sink", "x", { ifFull: ifFull as never })).rejects.toEqual(invalidOption("ifFull", /^send options: ifFull must be "wait" or "drop", got /));
        await expect(n.forward(message, { ifFull: ifFull as never })).rejects.toEqual(invalidOption("ifFull", /^forward options: ifFull must be "wait" or "drop"/));
      }
      await expect(n.sendAndReceive("sink", "x", { ifFull: "drop" } as never)).rejects.toEqual(invalidOption("ifFull", /^sendAndReceive options: ifFull is for send and forward/));
      await n.startWorker("prober", OptionProber);
      const ask = (body: unknown) => n.sendAndReceive<Record<string, unknown>>("prober", body, { timeout: 20_000 });
      expect(await ask({ op: "send", target: "sink", options: { ifFull: "later" } })).toEqual(invalidOption("ifFull", /^send options: ifFull must be/));
      expect(await ask({ op: "sendAndReceive", target: "sink", options: { ifFull: "wait" } })).toEqual(invalidOption("ifFull", /^sendAndReceive options: ifFull is for/));
      for (const ifFull of ["wait", "drop"]) expect(await ask({ op: "send", target: "sink", options: { ifFull } })).toEqual({ ok: true });
    });
  });
});

describe("forward's message", () => {
  it("forward given a body rather than a LocalMessage is an InvalidOptionError naming `message` that points at send, on every placement", async () => {
    await withNode({}, async (n) => {
      await n.startWorker("sink", silent, { placement: "main" });
      const expected = invalidOption("message", /^forward: message must be a LocalMessage .*got "sink"; .*use send\(to, body\)$/);
      await expect(n.forward("sink" as never)).rejects.toEqual(expected);
      await expect(n.forward(undefined as never, { ifFull: "drop" })).rejects.toEqual(invalidOption("message"));
      for (const placement of ["thread", "pool"] as const) {
        await n.startWorker(`prober-${placement}`, OptionProber, { placement });
        expect(await n.sendAndReceive(`prober-${placement}`, { op: "forwardBody", target: "sink" }, { timeout: 20_000 }), placement).toEqual(expected);
      }
    });
  });
});

describe("forward and local info", () => {
  // forward checked its localInfo option and then dropped it: the message went on with its
  // own local info, whatever the caller passed.
  it("the node's forward keeps the message's own local info, and its localInfo option replaces it", async () => {
    await withNode({}, async (n) => {
      for (const placement of ["main", "thread"] as const) {
        await n.startWorker(`info-${placement}`, InfoEcho, { placement });
        const message = new LocalMessage(route(`info-${placement}`), route(n.address), encodeBody("forwarded"), { tenant: "own" });
        await n.forward(message);
        expect((await n.receive({ timeout: 5_000 })).body, `to ${placement}, kept`).toEqual({ body: "forwarded", localInfo: { tenant: "own" } });
        await n.forward(message, { localInfo: { tenant: "given" } });
        expect((await n.receive({ timeout: 5_000 })).body, `to ${placement}, replaced`).toEqual({ body: "forwarded", localInfo: { tenant: "given" } });
        // The message given to forward is not changed.
        expect(message.localInfo).toEqual({ tenant: "own" });
      }
    });
  });

  for (const placement of ["main", "thread", "pool"] as const) {
    it(`a ${placement}-placed worker's forward keeps the message's own local info, and its localInfo option replaces it`, async () => {
      await withNode({ sendAndReceiveTimeout: 10_000 }, async (n) => {
        await n.startWorker("fwd", InfoForwarder, { placement });
        await n.startWorker("info-main", InfoEcho, { placement: "main" });
        await n.startWorker("info-thread", InfoEcho, { placement: "thread" });
        for (const to of ["info-main", "info-thread"]) {
          const kept = await n.sendAndReceive("fwd", { to }, { localInfo: { tenant: "own" } });
          expect(kept, `to ${to}, kept`).toEqual({ body: { to }, localInfo: { tenant: "own" } });
          const replaced = await n.sendAndReceive("fwd", { to, localInfo: { tenant: "given" } }, { localInfo: { tenant: "own" } });
          expect(replaced, `to ${to}, replaced`).toEqual({ body: { to, localInfo: { tenant: "given" } }, localInfo: { tenant: "given" } });
        }
      });
    });
  }
});

describe("send and sendAndReceive options from a worker's thread or pool slot are checked there", () => {
  it("the worker's own call rejects with the InvalidOptionError, naming the option", async () => {
    await withNode({ sendAndReceiveTimeout: 3_000 }, async (n) => {
      await n.startWorker("s", silent, { placement: "main" });
      await n.startWorker("prober", OptionProber);
      const ask = (body: unknown) => n.sendAndReceive<Record<string, unknown>>("prober", body, { timeout: 20_000 });
      // Without the check these waited for ever (the prober never answered) or timed out at once.
      for (const timeout of ["1s", -5, 0]) {
        expect(await ask({ op: "sendAndReceive", target: "s", options: { timeout } }), `timeout ${timeout}`).toEqual(invalidOption("timeout"));
      }
      expect(await ask({ op: "sendAndReceive", target: "s", options: { timeot: 100 } })).toEqual(invalidOption("timeot", /did you mean "timeout"\?/));
      expect(await ask({ op: "send", target: "s", options: { timeout: -5 } })).toEqual(invalidOption("timeout", /^send options: /));
      expect(await ask({ op: "send", target: "s", options: { timout: 100 } })).toEqual(invalidOption("timout"));
    });
  });

  it("a pool worker's send checks them too", async () => {
    await withNode({}, async (n) => {
      await n.startWorker("s", silent, { placement: "main" });
      await n.startWorker("prober", OptionProber, { placement: "pool" });
      const ask = (body: unknown) => n.sendAndReceive<Record<string, unknown>>("prober", body, { timeout: 20_000 });
      expect(await ask({ op: "send", target: "s", options: { timeout: -5 } })).toEqual(invalidOption("timeout"));
      expect(await ask({ op: "send", target: "s", options: { timout: 100 } })).toEqual(invalidOption("timout"));
      expect(await ask({ op: "send", target: "s", options: { timeout: 100 } })).toEqual({ ok: true });
    });
  });
});

describe("the node's default timeout", () => {
  it("sendAndReceiveTimeout takes what a call's timeout takes; shutdownTimeout must be a timer's delay", async () => {
    for (const bad of ["30s", Number.NaN, 0, -1, 2 ** 31]) {
      expect(await nodeError({ sendAndReceiveTimeout: bad }), String(bad)).toEqual(invalidOption("sendAndReceiveTimeout"));
    }
    expect(await nodeError({ sendAndReceiveTimeout: Infinity })).toBe("accepted");
    // A timer fires at once for these: the thread would be terminated without its shutdown.
    expect(await nodeError({ shutdownTimeout: Infinity })).toEqual(invalidOption("shutdownTimeout"));
    expect(await nodeError({ shutdownTimeout: 2 ** 31 })).toEqual(invalidOption("shutdownTimeout"));
  });

  it("pool sizes and the name say what they got", async () => {
    expect(await nodeError({ pool: { maxThreads: 0 } })).toEqual(invalidOption("pool.maxThreads", /^pool\.maxThreads must be a positive integer, got 0$/));
    expect(await nodeError({ pool: { minThreads: "2" as never } })).toEqual(invalidOption("pool.minThreads", /, got a string$/));
    expect(await nodeError({ name: 7 as never })).toEqual(invalidOption("name", /^name must be a string, got a number$/));
  });
});
