import type { MessagePort } from "node:worker_threads";
import type { Inbox } from "../context/inbox.js";
import { errorFromData } from "../errors/hopwire-error.js";
import type { Logger } from "../logging/logger.js";
import type { LocalMessage } from "../message/local-message.js";
import { decodeLocalEnvelope, writeEnvelope } from "./envelopes.js";
import { FRAME_ENVELOPE, FRAME_ENVELOPE_ACK, FRAME_OP, PortWriter, readFrames } from "./frames.js";
import { decodeOp, encodeOp, type MainToThreadOp, type ThreadToMainOp } from "./protocol.js";

interface Waiter {
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

const RESOLVED = Promise.resolve();

/**
 * The thread's end of its link to the main thread: one ordered stream of frames each way.
 *
 * A send whose first hop the main thread has granted (a local address it has seen work,
 * and will say `forget` about when it goes away) is written and resolved at once; any
 * other waits for the main thread's ack or nack, so that a send to an unknown address
 * rejects with UnknownAddressError. Acks come in bulk, one per batch the main thread read.
 */
export class ThreadLink {
  readonly #writer: PortWriter;
  /** Frames written so far: the seq of the next one. */
  #seq = 0;
  readonly #acks = new Map<number, Waiter>();
  readonly #results = new Map<number, Waiter>();
  readonly #granted = new Set<string>();
  /** Inboxes of this thread's pending sendAndReceive calls, by address key. */
  readonly requests = new Map<string, Inbox>();
  /** Where envelopes for the worker itself go. */
  onEnvelope: (message: LocalMessage) => void = () => {};
  /** Called when the main thread asks the worker to stop. */
  onStop: () => void = () => {};

  constructor(
    readonly port: MessagePort,
    readonly log: Logger,
  ) {
    this.#writer = new PortWriter(port);
    port.on("message", (batch: ArrayBuffer) => this.#receive(batch));
  }

  /** Routes `message` through the main thread, from the worker's own address. */
  sendEnvelope(message: LocalMessage): Promise<void> {
    const first = message.onwardRoute.next();
    const seq = this.#seq++;
    if (first.isLocal && this.#granted.has(first.key)) {
      writeEnvelope(this.#writer, FRAME_ENVELOPE, message);
      return RESOLVED;
    }
    writeEnvelope(this.#writer, FRAME_ENVELOPE_ACK, message);
    return new Promise<void>((resolve, reject) => this.#acks.set(seq, { resolve: resolve as () => void, reject }));
  }

  /** Writes an operation that needs no answer. */
  post(op: ThreadToMainOp): void {
    this.#writer.push(FRAME_OP, encodeOp(op));
    this.#seq++;
  }

  /** Writes an operation and resolves when the main thread has applied it (ack) or rejects (nack). */
  postAcked(op: ThreadToMainOp): Promise<void> {
    const seq = this.#seq;
    this.post(op);
    return new Promise<void>((resolve, reject) => this.#acks.set(seq, { resolve: resolve as () => void, reject }));
  }

  /** Writes an operation and resolves with the main thread's result. */
  request<T>(op: ThreadToMainOp): Promise<T> {
    const seq = this.#seq;
    this.post(op);
    return new Promise<T>((resolve, reject) => this.#results.set(seq, { resolve: resolve as (v: unknown) => void, reject }));
  }

  /** Posts what is pending and closes the port: the thread can exit. */
  close(): void {
    this.#writer.flush();
    this.#writer.close();
    this.port.close();
  }

  #receive(batch: ArrayBuffer): void {
    try {
      readFrames(batch, (kind, bytes) => {
        if (kind === FRAME_ENVELOPE) this.#onEnvelope(bytes);
        else if (kind === FRAME_OP) this.#onOp(decodeOp<MainToThreadOp>(bytes));
        else this.log.error(`dropped a frame of unknown kind ${kind}`);
      });
    } catch (error) {
      this.log.error("dropped the rest of a malformed batch from the main thread", error);
    }
  }

  #onEnvelope(bytes: Uint8Array): void {
    let message: LocalMessage;
    try {
      message = decodeLocalEnvelope(bytes);
    } catch (error) {
      this.log.error("dropped an undecodable envelope", error);
      return;
    }
    const inbox = this.requests.get(message.onwardRoute.next().key);
    if (inbox) inbox.deliver(message);
    else this.onEnvelope(message);
  }

  #onOp(op: MainToThreadOp): void {
    switch (op.t) {
      case "ack":
        for (const [seq, waiter] of this.#acks) {
          if (seq > op.seq) break;
          this.#acks.delete(seq);
          waiter.resolve(undefined);
        }
        if (op.grant) for (const key of op.grant) this.#granted.add(key);
        break;
      case "nack": {
        const waiter = this.#acks.get(op.seq) ?? this.#results.get(op.seq);
        this.#acks.delete(op.seq);
        this.#results.delete(op.seq);
        waiter?.reject(errorFromData(op.error));
        break;
      }
      case "result": {
        const waiter = this.#results.get(op.seq);
        this.#results.delete(op.seq);
        waiter?.resolve(op.value);
        break;
      }
      case "forget":
        this.#granted.delete(op.key);
        break;
      case "hopGone":
        this.requests.get(op.key)?.close(errorFromData(op.error));
        break;
      case "stop":
        this.onStop();
        break;
      default:
        this.log.error(`ignored an unknown operation ${JSON.stringify((op as { t: unknown }).t)}`);
    }
  }
}
