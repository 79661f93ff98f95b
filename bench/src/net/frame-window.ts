import { performance } from "node:perf_hooks";
import { FrameReader } from "./frames.js";
import { warmedUp } from "../warm-count.js";

/** What a receiving end counted in its measured window. */
export interface SinkResult {
  messages: number;
  payloadBytes: number;
  seconds: number;
}

/**
 * Counts u32-length frames as chunks arrive and measures a window by arrival time: it
 * opens warmupMs after the first byte (and once warmMessages frames have arrived, as
 * Hopwire's sink does) and lasts durationMs, sampled per chunk. Counting at
 * the receiver measures delivered messages, not messages merely queued by the sender.
 */
export class FrameWindow {
  #messages = 0;
  #payloadBytes = 0;
  #first = -1;
  #start = -1;
  #messagesAtStart = 0;
  #bytesAtStart = 0;
  readonly #reader = new FrameReader((frame) => {
    this.#messages++;
    this.#payloadBytes += frame.length;
  });

  constructor(
    readonly warmupMs: number,
    readonly durationMs: number,
    /** Frames that must have arrived too before the window opens (warm-count.ts). */
    readonly warmMessages = 0,
  ) {}

  /** Feeds one chunk; returns the window's figures once it has ended (that chunk is not counted). */
  push(chunk: Buffer): SinkResult | undefined {
    const now = performance.now();
    if (this.#first < 0) this.#first = now;
    if (this.#start < 0 && warmedUp(now, this.#first, this.warmupMs, this.#messages, this.warmMessages)) {
      this.#start = now;
      this.#messagesAtStart = this.#messages;
      this.#bytesAtStart = this.#payloadBytes;
    } else if (this.#start >= 0 && now >= this.#start + this.durationMs) {
      return {
        messages: this.#messages - this.#messagesAtStart,
        payloadBytes: this.#payloadBytes - this.#bytesAtStart,
        seconds: (now - this.#start) / 1e3,
      };
    }
    this.#reader.push(chunk);
    return undefined;
  }
}
