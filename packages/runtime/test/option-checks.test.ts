import { describe, expect, it } from "vitest";
import { Address, describeValue, LocalMessage, MAX_LINK_WINDOW_BYTES, MAX_POOL_THREADS, node, route, startRelay } from "@hopwire/runtime";
import { Echoer, OptionProber } from "./fixtures/workers.js";
import { invalidOption, nodeError, withNode } from "./helpers.js";

// README: "an unknown key is an InvalidOptionError that names it". Node options, mailbox and
// pool limits, and a thread's startWorker options took a misspelt key without a word.

describe("node options", () => {
  it("an unknown key, also in mailbox and pool, is an InvalidOptionError naming it", async () => {
    expect(await nodeError({ warnigns: false })).toEqual(invalidOption("warnigns", /^node options: unknown option "warnigns"; did you mean "warnings"\? known options: /));
    expect(await nodeError({ mailbox: { foo: 1 } })).toEqual(invalidOption("mailbox.foo", /^mailbox: unknown option "foo"; known options: maxMessages, maxBytes$/));
    expect(await nodeError({ pool: { maxThread: 2 } })).toEqual(invalidOption("pool.maxThread", /did you mean "maxThreads"\?/));
  });

  it("mailbox limits must be an object of positive integers, and the error says what was given", async () => {
    expect(await nodeError({ mailbox: [] })).toEqual(invalidOption("mailbox", /^mailbox must be an object such as \{ maxMessages: 1024 \}, got an array$/));
    expect(await nodeError({ mailbox: { maxMessages: "10" } })).toEqual(invalidOption("mailbox.maxMessages", /^mailbox\.maxMessages must be a positive integer, got a string$/));
    expect(await nodeError({ mailbox: { maxBytes: 0 } })).toEqual(invalidOption("mailbox.maxBytes", /got 0$/));
    // A positive integer all the same: the error names the bound it broke.
    expect(await nodeError({ mailbox: { maxMessages: 2 ** 60 } })).toEqual(
      invalidOption("mailbox.maxMessages", /^mailbox\.maxMessages must be a positive integer up to Number\.MAX_SAFE_INTEGER \(2\^53 - 1\), got 1152921504606847000$/),
    );
  });

  it("a logger the node cannot use is an InvalidOptionError naming `logger` and what it lacks, not a TypeError from inside node()", async () => {
    expect(await nodeError({ logger: {} })).toEqual(invalidOption("logger", /^logger must be a Logger \(createLogger\(\) makes one\): it has no debug, info, warn, error, child methods$/));
    expect(await nodeError({ logger: { debug() {}, info() {}, warn() {}, error() {} } })).toEqual(invalidOption("logger", /it has no child method$/));
    expect(await nodeError({ logger: 5 })).toEqual(invalidOption("logger", /^logger must be a Logger \(createLogger\(\) makes one\), got a number$/));
  });
});

describe("startWorker options from a worker's thread are checked there", () => {
  it("a misspelt key rejects the worker's own call, naming the option (the request to the main thread dropped it)", async () => {
    await withNode({}, async (n) => {
      await n.startWorker("prober", OptionProber);
      const ask = (body: unknown) => n.sendAndReceive<Record<string, unknown>>("prober", body, { timeout: 20_000 });
      expect(await ask({ op: "startWorker", target: "w1", options: { placment: "pool" } })).toEqual(invalidOption("placment", /did you mean "placement"\?/));
      expect(await ask({ op: "startWorker", target: "w2", options: { mailbox: { maxMesages: 5 } } })).toEqual(invalidOption("mailbox.maxMesages", /did you mean "maxMessages"\?/));
      expect(n.router.has(Address.parse("w1")) || n.router.has(Address.parse("w2"))).toBe(false);
      // Good options still work from there.
      expect(await ask({ op: "startWorker", target: "w3", options: { placement: "main" } })).toEqual({ ok: true });
    });
  });
});

describe("startWorker options on the main thread", () => {
  it("a misspelt key is an InvalidOptionError with the option and a suggestion, as in mailbox", async () => {
    await withNode({}, async (n) => {
      await expect(n.startWorker("a", Echoer, { placment: "pool" } as never)).rejects.toEqual(invalidOption("placment", /did you mean "placement"\?/));
      await expect(n.startWorker("b", Echoer, { mailbox: { maxMesages: 5 } } as never)).rejects.toEqual(invalidOption("mailbox.maxMesages", /did you mean "maxMessages"\?/));
      await expect(n.startProcessor("c", Echoer as never, { args: 1 } as never)).rejects.toEqual(invalidOption("args"));
      expect(n.router.has(Address.parse("a")) || n.router.has(Address.parse("b"))).toBe(false);
    });
  });
});

describe("startRelay options", () => {
  it("a missing `to` says it is the route to forward to", async () => {
    await withNode({}, async (n) => {
      await expect((startRelay as (...args: unknown[]) => Promise<unknown>)(n, "r")).rejects.toThrow("startRelay(node, address, to) needs `to`, the route the relay forwards to");
    });
  });

  it("a misspelt key is an InvalidOptionError (openFlowControl: false opened them anyway)", async () => {
    await withNode({}, async (n) => {
      await expect(startRelay(n, "r", route("x"), { openFlowControl: false } as never)).rejects.toEqual(
        invalidOption("openFlowControl", /^startRelay options: unknown option "openFlowControl"; did you mean "openFlowControls"\?/),
      );
      expect(n.router.has(Address.parse("r"))).toBe(false);
      await startRelay(n, "r", route("x"), { openFlowControls: false });
      expect(n.router.has(Address.parse("r"))).toBe(true);
    });
  });

  it("onForward must be a function, and is called once per return route the relay passes on", async () => {
    await withNode({}, async (n) => {
      await expect(startRelay(n, "r", route("sink"), { onForward: "log" } as never)).rejects.toEqual(
        invalidOption("onForward", /^onForward must be a function, got string$/),
      );
      const seen: string[] = [];
      await n.startWorker("sink", { handleMessage() {} }, { placement: "main" });
      await startRelay(n, "r", route("sink"), { openFlowControls: false, onForward: (back) => seen.push(back.toString()) });
      const back = route("a", "b");
      n.router.route(new LocalMessage(route("r"), back, new Uint8Array(1)));
      n.router.route(new LocalMessage(route("r"), back, new Uint8Array(1))); // the same return route object: not again
      n.router.route(new LocalMessage(route("r"), route("c"), new Uint8Array(1)));
      expect(seen).toEqual([back.toString(), route("c").toString()]);
    });
  });
});

describe("what an option check says it got", () => {
  // "got 10" for the string "10" (an environment variable passed as it is) read as if 10 were
  // wrong; "got false" for the string "false" as if the boolean were.
  it("quotes a string, shows numbers, booleans, null and undefined as they are, other values by type", () => {
    expect(["10", "false", 10, false, null, undefined, 5n, [1], { a: 1 }, new Map(), () => 1].map(describeValue)).toEqual([
      '"10"', '"false"', "10", "false", "null", "undefined", "5n", "an array", "an object", "a Map", "a function",
    ]);
    expect(describeValue("x".repeat(100))).toBe(`"${"x".repeat(60)}…"`);
  });

  it("a number option given as a string says so", async () => {
    expect(await nodeError({ linkWindowBytes: "65536" })).toEqual(invalidOption("linkWindowBytes", /^linkWindowBytes must be an integer from 1024 to 1073741824 \(1 GiB\), got "65536"$/));
  });

  it("node options and pool are plain objects: an array or a Map was accepted as no options", async () => {
    for (const bad of [[], new Map(), null, 5, "bob"]) expect(await nodeError(bad as never)).toEqual(invalidOption("options", /^node options must be an object such as \{ name: "bob" \}, got /));
    for (const bad of [[2], new Map(), 5]) expect(await nodeError({ pool: bad as never })).toEqual(invalidOption("pool", /^pool must be an object such as \{ maxThreads: 2 \}, got /));
  });

  it("sizes have upper bounds: a pool of a million threads and a link window of 2^60 bytes were accepted", async () => {
    expect(await nodeError({ pool: { minThreads: 1e6 } })).toEqual(invalidOption("pool.minThreads", /^pool\.minThreads must be at most 1024, got 1000000$/));
    expect(await nodeError({ pool: { maxThreads: MAX_POOL_THREADS + 1 } })).toEqual(invalidOption("pool.maxThreads", /at most 1024/));
    for (const big of [2 ** 60, 1e300, MAX_LINK_WINDOW_BYTES + 1]) expect(await nodeError({ linkWindowBytes: big })).toEqual(invalidOption("linkWindowBytes", /from 1024 to 1073741824/));
    const n = await node({ pool: { minThreads: 1, maxThreads: MAX_POOL_THREADS }, linkWindowBytes: MAX_LINK_WINDOW_BYTES });
    await n.stop();
  });
});
