import { describe, expect, it } from "vitest";
import { FlowControlDeniedError, type Context, type Routed } from "@hopwire/runtime";
import { Consumer, Prober } from "./fixtures/workers.js";
import { withNode } from "./helpers.js";

/** Plays a TCP receiver: { to } makes it send "from the network" to `to`; it reports the outcome to the app. */
class FakeReceiver {
  async handleMessage(ctx: Context, msg: Routed<{ to: string }>): Promise<void> {
    let outcome: unknown;
    try {
      await ctx.send(msg.body.to, "from the network");
      outcome = "delivered";
    } catch (error) {
      outcome = { denied: error instanceof FlowControlDeniedError, code: (error as { code?: string }).code };
    }
    await ctx.send(msg.returnRoute, outcome);
  }
}

describe("flow-control denial", () => {
  it("lets a producer's message reach only its consumers, wherever they run", async () => {
    await withNode({}, async (n) => {
      const flow = n.flowControls.generateId();
      n.flowControls.addProducer("receiver", flow);
      await n.startWorker("receiver", new FakeReceiver(), { placement: "main" });
      // The app sends into the producer, so (as in Ockam) it becomes a consumer of its flow and gets the reports.
      await n.startWorker("consumer", Consumer, { args: ["app"] });
      await n.startWorker("outsider", Consumer, { args: ["app"] });
      n.flowControls.addConsumer("consumer", flow);

      expect(await n.sendAndReceive("receiver", { to: "consumer" })).toBe("delivered");
      expect((await n.receive({ timeout: 5_000 })).body).toEqual({ consumerGot: "from the network" });

      expect(await n.sendAndReceive("receiver", { to: "outsider" })).toEqual({ denied: true, code: "FLOW_CONTROL_DENIED" });
      // A denial says nothing about whether the address exists.
      expect(await n.sendAndReceive("receiver", { to: "no-such-worker" })).toEqual({ denied: true, code: "FLOW_CONTROL_DENIED" });
      // The outsider got nothing: the next message in the app's inbox is the one sent after this point.
      await n.send("app", "marker");
      expect((await n.receive({ timeout: 1_000 })).body).toBe("marker");
    });
  });

  it("applies a thread worker's addConsumer in order with its next send", async () => {
    await withNode({}, async (n) => {
      const flow = n.flowControls.generateId();
      n.flowControls.addProducer("receiver", flow);
      await n.startWorker("receiver", new FakeReceiver(), { placement: "main" });
      await n.startWorker("late", Consumer, { args: ["app"] });
      expect(await n.sendAndReceive("receiver", { to: "late" })).toMatchObject({ denied: true });
      // The worker joins the flow from its thread, then replies; the reply is routed after the join.
      expect(await n.sendAndReceive("late", { join: flow })).toBe("joined");
      expect(n.flowControls.isConsumer("late", flow)).toBe(true);
      expect(await n.sendAndReceive("receiver", { to: "late" })).toBe("delivered");
      expect((await n.receive({ timeout: 5_000 })).body).toEqual({ consumerGot: "from the network" });
    });
  });

  it("a thread worker's addConsumer with a bad id throws there, and the node goes on", async () => {
    await withNode({}, async (n) => {
      const flow = n.flowControls.generateId();
      await n.startWorker("late", Consumer, { args: ["app"] });
      await expect(n.sendAndReceive("late", { join: { flowControlId: flow } })).rejects.toThrow(/ctx\.flowControls\.addConsumer: flowControlId must be a flow control id/);
      expect(await n.sendAndReceive("late", { join: flow })).toBe("joined");
      expect(n.flowControls.isConsumer("late", flow)).toBe(true);
    });
  });

  it("answers findFlowControlWithProducerAddress inside a thread worker (asynchronously)", async () => {
    await withNode({}, async (n) => {
      const flow = n.flowControls.generateId();
      const spawner = n.flowControls.generateId();
      n.flowControls.addProducer("receiver", flow, spawner);
      await n.startWorker("prober", Prober);
      expect(await n.sendAndReceive("prober", { op: "findProducer", address: "receiver" })).toEqual({
        ok: true,
        value: { flowControlId: flow, spawnerFlowControlId: spawner },
      });
      expect(await n.sendAndReceive("prober", { op: "findProducer", address: "nobody" })).toEqual({ ok: true, value: null });
    });
  });
});
