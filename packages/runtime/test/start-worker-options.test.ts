import { describe, expect, it } from "vitest";
import { Address, InvalidOptionError } from "@hopwire/runtime";
import { Echoer } from "./fixtures/workers.js";
import { withNode } from "./helpers.js";

// Issue 11, item 8: startWorker takes a plain options object; a misspelt key is an error
// that names it, never a silent default.

describe("startWorker options", () => {
  it("rejects unknown keys and wrong types, naming the option", async () => {
    await withNode({}, async (n) => {
      await expect(n.startWorker("a", Echoer, { placment: "pool" } as never)).rejects.toThrow(/unknown option "placment"; did you mean "placement"\? known options: placement, args/);
      await expect(n.startWorker("b", Echoer, { args: "x" } as never)).rejects.toThrow(/args must be an array/);
      await expect(n.startWorker("c", Echoer, { aliases: "d" } as never)).rejects.toThrow(/aliases must be an array/);
      await expect(n.startWorker("e", Echoer, new (class Opts {})() as never)).rejects.toBeInstanceOf(InvalidOptionError);
      await expect(n.startWorker("f", Echoer, { placement: "pol" } as never)).rejects.toThrow('placement must be "thread", "pool" or "main", got "pol"');
      // Building the message threw a TypeError for these (JSON.stringify of a BigInt, a circular
      // object), and said "got undefined" for a Symbol or a function.
      const circular: Record<string, unknown> = {};
      circular.self = circular;
      for (const [bad, shown] of [[1n, "1n"], [circular, "an object"], [Object.create(null), "an object"], [Symbol("s"), "a symbol"], [() => "main", "a function"]] as const) {
        await expect(n.startWorker("g", Echoer, { placement: bad } as never)).rejects.toMatchObject({
          name: "InvalidOptionError",
          option: "placement",
          message: `placement must be "thread", "pool" or "main", got ${shown}`,
        });
      }
      // None of them started anything.
      expect(n.router.has(Address.parse("a"))).toBe(false);
    });
  });

  it("accepts the plain object it always took", async () => {
    await withNode({}, async (n) => {
      await n.startWorker("echoer", Echoer, { placement: "thread", aliases: ["echo2"], mailbox: { maxMessages: 16 } });
      expect(await n.sendAndReceive("echo2", "hi", { timeout: 20_000 })).toBe("hi");
    });
  });
});
