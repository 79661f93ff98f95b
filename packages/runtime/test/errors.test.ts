import { describe, expect, it } from "vitest";
import {
  DuplicateAddressError,
  HopwireError,
  TimeoutError,
  UnknownAddressError,
  WorkerHandlerError,
  WorkerLoadError,
  errorFromData,
  errorToData,
} from "@hopwire/runtime";
import { Prober, ThrowingInitialize } from "./fixtures/workers.js";
import { withNode } from "./helpers.js";

describe("errors as data", () => {
  it("carry a stable code, a name and a default message", () => {
    const e = new UnknownAddressError();
    expect(e).toBeInstanceOf(HopwireError);
    expect([e.code, e.name, e.message]).toEqual(["ADDRESS_UNKNOWN", "UnknownAddressError", "No worker has this address"]);
  });

  it("rebuild the right class, with the cause chain, from plain data", () => {
    const original = new WorkerLoadError("could not load", { cause: new DuplicateAddressError("taken", { cause: new Error("root") }) });
    const data = errorToData(original);
    expect(JSON.parse(JSON.stringify(data))).toEqual(data);
    const rebuilt = errorFromData(data);
    expect(rebuilt).toBeInstanceOf(WorkerLoadError);
    expect(rebuilt.message).toBe("could not load");
    expect(rebuilt.cause).toBeInstanceOf(DuplicateAddressError);
    expect((rebuilt.cause as Error).cause).toMatchObject({ message: "root", name: "Error" });
  });

  it("keep the stack of where they were made, bounded", () => {
    const original = new WorkerLoadError("could not load", { cause: new Error("root") });
    const rebuilt = errorFromData(errorToData(original));
    expect(rebuilt.stack).toBe(original.stack);
    expect((rebuilt.cause as Error).stack).toBe((original.cause as Error).stack);
    const deep = new Error("deep");
    deep.stack = "Error: deep\n" + "    at f (file.js:1:1)\n".repeat(1000);
    expect(errorToData(deep).stack).toBe(deep.stack.slice(0, 4096));
  });

  it("keep a foreign error's name and code when its class is unknown", () => {
    const foreign = Object.assign(new RangeError("out of range"), { code: "ERR_OUT_OF_RANGE" });
    const rebuilt = errorFromData(errorToData(foreign));
    expect([rebuilt.name, (rebuilt as Error & { code: string }).code, rebuilt.message]).toEqual(["RangeError", "ERR_OUT_OF_RANGE", "out of range"]);
    expect(errorFromData(errorToData("a string"))).toMatchObject({ message: "a string" });
  });
});

describe("errors across threads", () => {
  it("arrive from a thread worker's sendAndReceive as the right class and code", async () => {
    // The thread's sendAndReceive waits up to 5 s (the node's default for it): the error comes
    // at once, and one that never came would end as a TimeoutError, which fails the test too.
    // (50 ms was passed by a round trip between the threads beside two busy loops.)
    await withNode({ sendAndReceiveTimeout: 5_000 }, async (n) => {
      await n.startWorker("prober", Prober);
      const unknown = await n.sendAndReceive<{ error: Record<string, unknown> }>("prober", { op: "sendAndReceive", target: "nowhere" }, { timeout: 10_000 });
      expect(unknown.error).toEqual({
        name: "UnknownAddressError",
        code: "ADDRESS_UNKNOWN",
        message: "No worker has the address 0#nowhere",
        isUnknownAddress: true,
        isTimeout: false,
        isRouteUnavailable: false,
      });
    });
  });

  it("arrive from a worker's thread at startWorker as WorkerLoadError with the original class as cause", async () => {
    await withNode({}, async (n) => {
      const error = (await n.startWorker("w", ThrowingInitialize).catch((e: unknown) => e)) as WorkerLoadError;
      expect(error).toBeInstanceOf(WorkerLoadError);
      expect(error.message).toMatch(/ThrowingInitialize failed to initialize/);
      expect(error.cause).toBeInstanceOf(UnknownAddressError);
      expect((error.cause as UnknownAddressError).message).toBe("initialize looked for something that is not there");
    });
  });

  it("keep their classes apart: a wait that times out is not an unknown address", () => {
    const rebuilt = errorFromData(errorToData(new TimeoutError()));
    expect(rebuilt).toBeInstanceOf(TimeoutError);
    expect(rebuilt).not.toBeInstanceOf(UnknownAddressError);
    expect(errorFromData(errorToData(new WorkerHandlerError()))).toBeInstanceOf(WorkerHandlerError);
  });
});
