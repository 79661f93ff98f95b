// The worker_thread side of the MessagePort baselines: decodes each envelope of each batch
// (as a router would, to read the onward route), or takes a view of each bare frame, and
// acks the batch.
import { parentPort, type MessagePort } from "node:worker_threads";
import { performance } from "node:perf_hooks";
import { Unpackr } from "msgpackr";
import { forEachEnvelope, forEachFrame, type EnvelopeBatch } from "../net/envelope-batch.js";

/** What a batch holds: msgpackr envelopes, or bare length-prefixed payloads (see messageport.ts). */
export type MessagePortFormat = "envelopes" | "frames";
export type ToWorker = { type: "batch"; batch: EnvelopeBatch } | { type: "mark" };
/** Counters at the moment the mark was handled, on the worker's clock. */
export interface MarkReply {
  type: "mark";
  messages: number;
  payloadBytes: number;
  t: number;
}

parentPort?.once("message", ({ port, format }: { port: MessagePort; format: MessagePortFormat }) => {
  const unpackr = new Unpackr({ useRecords: false });
  const decode = (b: Buffer): unknown => unpackr.unpack(b);
  let messages = 0;
  let payloadBytes = 0;
  port.on("message", (m: ToWorker) => {
    if (m.type === "batch") {
      if (format === "frames") {
        forEachFrame(m.batch, (payload) => {
          messages++;
          payloadBytes += payload.length;
        });
      } else {
        forEachEnvelope(m.batch, decode, (e) => {
          messages++;
          payloadBytes += e[2].length;
        });
      }
      port.postMessage({ type: "ack" });
    } else {
      port.postMessage({ type: "mark", messages, payloadBytes, t: performance.now() } satisfies MarkReply);
    }
  });
  port.postMessage({ type: "ready" });
});
