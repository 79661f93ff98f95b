// Role: main thread → worker_thread over a dedicated MessagePort, messages batched BATCH per
// transferred ArrayBuffer (design.md: one postMessage per envelope caps at a few hundred k
// msg/s; batches reach millions). The worker reads every message and times itself between two
// marks, so the figure is delivered-and-read messages. `format`: "envelopes" packs each
// message as a msgpackr envelope [onwardRoute, returnRoute, payload] and the worker decodes
// each (a hand-rolled router protocol); "frames" writes each payload behind a u32 length and
// the worker takes a view of each (the floor: bytes across a thread, no encoding at all).
import { MessageChannel, Worker } from "node:worker_threads";
import { once } from "node:events";
import { randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import { runBenchChild } from "../proc/child.js";
import { throughputMetrics } from "../metrics.js";
import { warmedUp } from "../warm-count.js";
import { EnvelopeBatchBuilder, type Envelope } from "../net/envelope-batch.js";
import type { SoloResult } from "../proc/solo.js";
import type { MarkReply, MessagePortFormat, ToWorker } from "./messageport-worker.js";

export interface MessagePortParams {
  size: number;
  format: MessagePortFormat;
  warmupMs: number;
  durationMs: number;
  /** A full run's warm count (windowed()): messages the worker must have acknowledged before the first mark. */
  warmMessages?: number;
}

const BATCH = 64;
/** Batches in flight before the sender waits for an ack: enough to keep both threads busy, bounded memory. */
const WINDOW = 16;

runBenchChild<MessagePortParams, null, SoloResult>(async (p) => {
  const worker = new Worker(new URL("./messageport-worker.js", import.meta.url));
  const { port1: port, port2 } = new MessageChannel();
  worker.postMessage({ port: port2, format: p.format }, [port2]);
  await once(port, "message"); // the worker's READY

  const hex = (): string => randomBytes(16).toString("hex");
  const envelope: Envelope = [[hex()], ["1#127.0.0.1:4000", hex()], randomBytes(p.size)];
  const builder = new EnvelopeBatchBuilder();
  const add = p.format === "frames" ? (): void => builder.addFrame(envelope[2]) : (): void => builder.add(envelope);
  let inFlight = 0;
  let acked = 0;
  let sending = true;
  const sendBatch = (): void => {
    for (let i = 0; i < BATCH; i++) add();
    const batch = builder.take();
    port.postMessage({ type: "batch", batch } satisfies ToWorker, [batch.buffer]);
    inFlight++;
  };

  // The marks are placed from the ack handler, not from timers: a port that always has a
  // message waiting starves the timers phase (measured: a 50 ms timer fired after 360 ms).
  const marks: MarkReply[] = [];
  let marksSent = 0;
  let windowStart = 0;
  const readyAt = performance.now();
  const mark = (now: number): void => {
    port.postMessage({ type: "mark" } satisfies ToWorker); // queued behind the batches already posted
    if (++marksSent === 2) sending = false;
    windowStart = now;
  };
  const done = new Promise<void>((resolve) => {
    port.on("message", (m: { type: "ack" } | MarkReply) => {
      if (m.type !== "ack") {
        if (marks.push(m) === 2) resolve();
        return;
      }
      inFlight--;
      acked += BATCH;
      if (!sending) return;
      const now = performance.now();
      // The warm-up: its time and, in a full run, the warm count (as Hopwire's side waits for it).
      if (marksSent === 0 ? warmedUp(now, readyAt, p.warmupMs, acked, p.warmMessages ?? 0) : now >= windowStart + p.durationMs) mark(now);
      while (sending && inFlight < WINDOW) sendBatch();
    });
  });
  while (inFlight < WINDOW) sendBatch();
  await done;
  await worker.terminate();
  const [a, b] = marks as [MarkReply, MarkReply];
  return { metrics: throughputMetrics(b.messages - a.messages, b.payloadBytes - a.payloadBytes, (b.t - a.t) / 1e3) };
});
