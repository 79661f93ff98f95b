import { describe, expect, it } from "vitest";
import { Address, DuplicateAddressError, InvalidAddressError, InvalidOptionError, InvalidRouteError, UnknownAddressError, UnknownTransportError, type Worker } from "@hopwire/runtime";
import { AddressTeller, Echoer, Prober } from "./fixtures/workers.js";
import { withNode } from "./helpers.js";

const echo: Worker = {
  async handleMessage(ctx, msg) {
    await ctx.send(msg.returnRoute, msg.body);
  },
};

describe("unknown and duplicate addresses", () => {
  it("rejects a send to an unknown address with UnknownAddressError, and the node keeps running", async () => {
    await withNode({}, async (n) => {
      const error = await n.send("nowhere", "x").catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UnknownAddressError);
      expect((error as UnknownAddressError).code).toBe("ADDRESS_UNKNOWN");
      await expect(n.sendAndReceive("nowhere", "x")).rejects.toBeInstanceOf(UnknownAddressError);
      await expect(n.send("1#127.0.0.1:4000", "x")).rejects.toBeInstanceOf(UnknownTransportError);
      await expect(n.send([], "x")).rejects.toBeInstanceOf(InvalidRouteError);
      await expect(n.stopWorker("nowhere")).rejects.toBeInstanceOf(UnknownAddressError);
      await n.startWorker("echoer", Echoer);
      expect(await n.sendAndReceive("echoer", "still running")).toBe("still running");
    });
  });

  it("rejects a send from a thread worker to an unknown address with UnknownAddressError", async () => {
    await withNode({}, async (n) => {
      await n.startWorker("prober", Prober);
      for (const op of ["send", "sendAndReceive"]) {
        const outcome = await n.sendAndReceive<{ ok: boolean; error: Record<string, unknown> }>("prober", { op, target: "nowhere" });
        expect(outcome.ok, op).toBe(false);
        expect(outcome.error, op).toMatchObject({ name: "UnknownAddressError", code: "ADDRESS_UNKNOWN", isUnknownAddress: true });
      }
    });
  });

  it("rejects a thread worker's send to an address that existed and went away (the grant is withdrawn)", async () => {
    await withNode({}, async (n) => {
      await n.startWorker("prober", Prober);
      await n.startWorker("target", echo, { placement: "main" });
      // The first send waits for the main thread's ack, which lets later sends to "target" go without waiting.
      expect(await n.sendAndReceive("prober", { op: "send", target: "target" })).toEqual({ ok: true, value: null });
      expect(await n.sendAndReceive("prober", { op: "send", target: "target" })).toEqual({ ok: true, value: null });
      await n.stopWorker("target");
      // The withdrawal travels ahead of the next request in the stream, so this send waits again and fails.
      const outcome = await n.sendAndReceive<{ ok: boolean; error: Record<string, unknown> }>("prober", { op: "send", target: "target" });
      expect(outcome.error).toMatchObject({ code: "ADDRESS_UNKNOWN", isUnknownAddress: true });
    });
  });

  it("refuses a duplicate address with DuplicateAddressError, whatever the placement, and keeps the first worker", async () => {
    await withNode({}, async (n) => {
      await n.startWorker("echoer", Echoer);
      await expect(n.startWorker("echoer", Echoer)).rejects.toBeInstanceOf(DuplicateAddressError);
      await expect(n.startWorker("echoer", Echoer, { placement: "pool" })).rejects.toBeInstanceOf(DuplicateAddressError);
      await expect(n.startWorker("echoer", echo, { placement: "main" })).rejects.toBeInstanceOf(DuplicateAddressError);
      await expect(n.startWorker(["fresh", "echoer"], echo, { placement: "main" })).rejects.toBeInstanceOf(DuplicateAddressError);
      await expect(n.startWorker("app", echo, { placement: "main" })).rejects.toBeInstanceOf(DuplicateAddressError);
      await expect(n.startWorker(["a", "a"], echo, { placement: "main" })).rejects.toBeInstanceOf(DuplicateAddressError);
      // Nothing half-registered: "fresh" is still free.
      await expect(n.send("fresh", "x")).rejects.toBeInstanceOf(UnknownAddressError);
      expect(await n.sendAndReceive("echoer", "first one")).toBe("first one");
      // And from a thread worker, the error arrives as the same class.
      await n.startWorker("prober", Prober);
      const outcome = await n.sendAndReceive<{ ok: boolean; error: Record<string, unknown> }>("prober", { op: "startWorker", address: "echoer" });
      expect(outcome.error).toMatchObject({ name: "DuplicateAddressError", code: "ADDRESS_IN_USE" });
    });
  });

  it("refuses a worker address with \"=>\" in it (no route string could reach it), as a string or an Address", async () => {
    await withNode({}, async (n) => {
      await expect(n.startWorker("a => b", echo, { placement: "main" })).rejects.toBeInstanceOf(InvalidAddressError);
      await expect(n.startWorker(new Address(0, "a=>b"), echo, { placement: "main" })).rejects.toThrow(/cannot contain "=>".*got "a=>b"/);
      await expect(n.startWorker(["ok", "x=>y"], echo, { placement: "main" })).rejects.toBeInstanceOf(InvalidAddressError);
      // Nothing half-registered.
      await expect(n.send("ok", "x")).rejects.toBeInstanceOf(UnknownAddressError);
    });
  });

  it("validates placements and worker kinds", async () => {
    await withNode({}, async (n) => {
      await expect(n.startWorker("x", Echoer, { placement: "gpu" as never })).rejects.toBeInstanceOf(InvalidOptionError);
      await expect(n.startWorker("x", echo)).rejects.toBeInstanceOf(InvalidOptionError);
      await expect(n.startWorker("x", echo, { placement: "thread" })).rejects.toBeInstanceOf(InvalidOptionError);
      await expect(n.startWorker([], Echoer)).rejects.toBeInstanceOf(InvalidOptionError);
      await expect(n.startWorker("x", 42 as never)).rejects.toThrow(/^worker must be a worker class or instance, got a number$/);
    });
  });

  it("names what is wrong with a worker: the worker itself, or its placement", async () => {
    await withNode({}, async (n) => {
      const optionOf = (p: Promise<void>): Promise<unknown> => p.then(() => "started", (error: unknown) => (error as InvalidOptionError).option);
      for (const notAWorker of [42, "Echoer", null, undefined]) expect(await optionOf(n.startWorker("x", notAWorker as never))).toBe("worker");
      expect(await optionOf(n.startProcessor("x", "Echoer" as never))).toBe("processor");
      expect(await optionOf(n.startWorker("x", echo))).toBe("placement");
      expect(await optionOf(n.startWorker("x", echo, { placement: "thread" }))).toBe("placement");
      // An object without handleMessage is no worker: said first, not the advice about where an instance runs.
      for (const options of [{}, { placement: "main" as const }, { placement: "thread" as const }]) {
        await expect(n.startWorker("x", {} as never, options)).rejects.toThrow(/^Worker for 0#x has no handleMessage method$/);
      }
      // The same for a processor without process (it started, and warned on every step).
      for (const options of [{}, { placement: "main" as const }]) {
        await expect(n.startProcessor("x", { initialize() {} } as never, options)).rejects.toThrow(/^Processor for 0#x has no process method$/);
      }
      await expect(n.startProcessor("x", Echoer as never, { placement: "main" })).rejects.toThrow(/^Processor for 0#x has no process method$/);
      await expect(n.startProcessor("x", Echoer as never, { placement: "thread" })).rejects.toMatchObject({ code: "WORKER_LOAD_FAILED" });
      await expect(n.send("x", "anyone?")).rejects.toBeInstanceOf(UnknownAddressError);
      // From a thread worker's context, an instance cannot cross: that is the worker argument's fault too.
      await n.startWorker("prober", Prober);
      const outcome = await n.sendAndReceive<{ ok: boolean; error: Record<string, unknown> }>("prober", { op: "startWorkerInstance", address: "y" });
      expect(outcome.error).toMatchObject({ name: "InvalidOptionError", option: "worker", message: expect.stringMatching(/^A worker started from another thread must be given as a class/) });
    });
  });
});

// A thread or a pool slot is told its worker's addresses as strings: read back with Address.parse,
// which trims what users type, a value with spaces at its ends came back as another address.
describe("a worker off the main thread keeps its address exactly", () => {
  for (const placement of ["thread", "pool"] as const) {
    it(`on a ${placement}: an address whose value has spaces at its ends is its context's address`, async () => {
      await withNode({}, async (n) => {
        const odd = new Address(0, " odd ");
        await n.startWorker(odd, AddressTeller, { placement });
        expect(await n.sendAndReceive(odd, "who?")).toBe("0# odd ");
      });
    });
  }
});

