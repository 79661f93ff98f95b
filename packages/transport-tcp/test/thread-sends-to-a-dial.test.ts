// A thread worker's stream to a transport address (`1#host:port`) whose dial is in progress:
// the dial's queue fills, the thread's frames on their way wait on the main thread (parked),
// and when the connection is up they go on into the connection as far as its high-water
// mark lets them, then wait for its room: none is lost to the connection's hard limit.
import { afterEach, expect, it } from "vitest";
import type { DroppedEvent, Node } from "@hopwire/runtime";
import { SprayingSender } from "../../runtime/test/fixtures/workers.js";
import { Sink, startNode, startResponder } from "./support.js";

const nodes: Node[] = [];
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.stop()));
});

it("a thread's sends parked for a dial all arrive once it connects, none dropped at the connection's limit", async () => {
  const responder = await startResponder("b");
  nodes.push(responder.node);
  const sink = new Sink();
  await responder.node.startWorker("sink", sink, { placement: "main" });
  responder.node.flowControls.addConsumer("sink", responder.listener.flowControlId);
  // A dial queue of 4 and a connection that takes at most 4 KiB waiting: what was parked must follow its bounds.
  const a = await startNode("a", { maxPendingDialMessages: 4, sendHighWaterMark: 1024, maxSendBufferBytes: 4096 });
  nodes.push(a.node);
  const dropped: DroppedEvent[] = [];
  a.node.on("dropped", (event) => dropped.push(event));
  await a.node.startWorker("sprayer", SprayingSender);
  const count = 2000;
  await a.node.send("sprayer", { hops: [[`1#${responder.listener.address}`, "sink"]], count });
  expect((await a.node.receive({ timeout: 30_000 })).body).toBe("done");
  await sink.waitFor(count);
  expect(sink.received.map((m) => (m.body as { i: number }).i)).toEqual(Array.from({ length: count }, (_, i) => i));
  expect(dropped).toEqual([]);
}, 60_000);
