// Counts frames until `totalBytes` of payload have arrived: the receiving end of the bulk
// runs (backpressure/bulk-*), timed from the first byte to the last.
import { performance } from "node:perf_hooks";
import { FrameReader } from "./frames.js";
import type { SinkResult } from "./frame-window.js";

export class BulkCount {
  #messages = 0;
  #payloadBytes = 0;
  #first = -1;
  readonly #reader = new FrameReader((frame) => {
    this.#messages++;
    this.#payloadBytes += frame.length;
  });

  constructor(readonly totalBytes: number) {}

  /** Feeds one chunk; returns the figures once `totalBytes` have arrived. */
  push(chunk: Buffer): SinkResult | undefined {
    const now = performance.now();
    if (this.#first < 0) this.#first = now;
    this.#reader.push(chunk);
    if (this.#payloadBytes < this.totalBytes) return undefined;
    return { messages: this.#messages, payloadBytes: this.#payloadBytes, seconds: (now - this.#first) / 1e3 };
  }
}
