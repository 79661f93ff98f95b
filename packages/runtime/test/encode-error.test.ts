// Unencodable values fail loudly at the sender (issue 11 item 9): a function, a symbol or a
// too-wide bigint in a message body or in a worker's constructor args is an EncodeError where
// it is sent, naming where the bad value is; before, a function arrived as undefined.
import { describe, expect, it } from "vitest";
import { EncodeError } from "@hopwire/runtime";
import { ArgsProbe, Echoer, Prober } from "./fixtures/workers.js";
import { withNode } from "./helpers.js";

async function rejection(pending: Promise<unknown>): Promise<EncodeError> {
  const error = await pending.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(EncodeError);
  return error as EncodeError;
}

describe("EncodeError at the sender", () => {
  it("a function in a body sent from the main thread rejects send and sendAndReceive, and nothing is delivered", async () => {
    await withNode({}, async (n) => {
      await n.startWorker("echoer", Echoer);
      const sent = await rejection(n.send("echoer", { text: "hi", onDone: () => {} }));
      expect([sent.code, sent.path]).toEqual(["ENCODE_FAILED", "body.onDone"]);
      expect(sent.message).toMatch(/body\.onDone is a function/);
      const asked = await rejection(n.sendAndReceive("echoer", [Symbol("s")], { timeout: 60_000 }));
      expect(asked.path).toBe("body[0]");
      // The echoer got nothing of those: its first reply is to this message.
      expect(await n.sendAndReceive("echoer", "next", { timeout: 60_000 })).toBe("next");
    });
  });

  it("a function in the local info of a message sent to a thread rejects its send with an EncodeError naming it", async () => {
    await withNode({}, async (n) => {
      await n.startWorker("echoer", Echoer);
      const sent = await rejection(n.send("echoer", "hi", { localInfo: { tag: "x", onDone: () => {} } }));
      expect([sent.code, sent.path]).toEqual(["ENCODE_FAILED", "localInfo.onDone"]);
      expect(sent.message).toMatch(/local info cannot be encoded.*localInfo\.onDone is a function/);
      expect(await n.sendAndReceive("echoer", "next", { timeout: 60_000 })).toBe("next");
    });
  });

  it("a function in a body sent from a worker's thread is an EncodeError in that thread", async () => {
    await withNode({}, async (n) => {
      await n.startWorker("prober", Prober);
      const outcome = await n.sendAndReceive<{ ok: boolean; error: { name: string; code: string; message: string } }>(
        "prober",
        { op: "sendFunction", target: "app" },
        { timeout: 60_000 },
      );
      expect(outcome.ok).toBe(false);
      expect(outcome.error).toMatchObject({ name: "EncodeError", code: "ENCODE_FAILED" });
      expect(outcome.error.message).toMatch(/body\.onDone is a function/);
    });
  });

  it("a function in a thread or pool worker's args rejects startWorker with the path, and starts nothing", async () => {
    await withNode({}, async (n) => {
      for (const placement of ["thread", "pool"] as const) {
        const error = await rejection(n.startWorker(`probe-${placement}`, ArgsProbe, { placement, args: ["x", { cb: () => 1 }, 3] }));
        expect(error.path, placement).toBe("args[1].cb");
        expect(error.message).toMatch(/options\.args/);
        await n.startWorker(`probe-${placement}`, Echoer, { placement }); // the address was not taken
      }
      await n.startWorker("prober", Prober);
      const outcome = await n.sendAndReceive<{ ok: boolean; error: { code: string; message: string } }>(
        "prober",
        { op: "startWorkerWithFunctionArg", address: "from-thread" },
        { timeout: 60_000 },
      );
      expect(outcome.ok).toBe(false);
      expect(outcome.error.code).toBe("ENCODE_FAILED");
      expect(outcome.error.message).toMatch(/args\[1\] is a function/);
    });
  });
});
