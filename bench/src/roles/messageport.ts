// Role: main thread → worker_thread over a dedicated MessagePort, envelopes batched
// BATCH per transferred ArrayBuffer (design.md: one postMessage per envelope caps at a few
// hundred k msg/s; batches reach millions). The worker decodes every envelope and times
// itself between two marks, so the figure is delivered-and-decoded messages.
import { MessageChannel, Worker } from "node:worker_threads";
import { once } from "node:events";
import { randomBytes } from "node:crypto";
import { runBenchChild } from "../proc/child.js";
import { throughputMetrics } from "../metrics.js";
import { EnvelopeBatchBuilder, type Envelope } from "../net/envelope-batch.js";
import type { SoloResult } from "../proc/solo.js";
import type { MarkReply, ToWorker } from "./messageport-worker.js";

export interface MessagePortParams {
  size: number;
  warmupMs: number;
  durationMs: number;
}

const BATCH = 64;
/** Batches in flight before the sender waits for an ack: enough to keep both threads busy, bounded memory. */
const WINDOW = 16;

runBenchChild<MessagePortParams, null, SoloResult>(async (p) => {
  const worker = new Worker(new URL("./messageport-worker.js", import.meta.url));
  const { port1: port, port2 } = new MessageChannel();
  worker.postMessage({ port: port2 }, [port2]);
  await once(port, "message"); // the worker's READY

  const hex = (): string => randomBytes(16).toString("hex");
  const envelope: Envelope = [[hex()], ["1#127.0.0.1:4000", hex()], randomBytes(p.size)];
  const builder = new EnvelopeBatchBuilder();
  let inFlight = 0;
  let sending = true;
  const sendBatch = (): void => {
    for (let i = 0; i < BATCH; i++) builder.add(envelope);
    const batch = builder.take();
    port.postMessage({ type: "batch", batch } satisfies ToWorker, [batch.buffer]);
    inFlight++;
  };

  const marks: MarkReply[] = [];
  const done = new Promise<void>((resolve) => {
    port.on("message", (m: { type: "ack" } | MarkReply) => {
      if (m.type === "ack") {
        inFlight--;
        if (sending) while (inFlight < WINDOW) sendBatch();
      } else if (marks.push(m) === 2) resolve();
    });
  });
  while (inFlight < WINDOW) sendBatch();
  // Marks queue behind the batches already posted, so the worker counts exactly those before them.
  setTimeout(() => port.postMessage({ type: "mark" } satisfies ToWorker), p.warmupMs);
  setTimeout(() => {
    port.postMessage({ type: "mark" } satisfies ToWorker);
    sending = false;
  }, p.warmupMs + p.durationMs);
  await done;
  await worker.terminate();
  const [a, b] = marks as [MarkReply, MarkReply];
  return { metrics: throughputMetrics(b.messages - a.messages, b.payloadBytes - a.payloadBytes, (b.t - a.t) / 1e3) };
});
