import type { MessagePort } from "node:worker_threads";
import { unencodableError } from "../codec/body.js";
import { packValue, packr } from "../codec/packr.js";
import { DecodeError, EncodeError } from "../errors/errors.js";
import type { ErrorData } from "../errors/hopwire-error.js";
import type { ProducerInfo } from "../flow-control/flow-controls.js";
import type { MailboxLimits, ResolvedMailboxLimits } from "../router/mailbox-bound.js";
import type { Placement } from "../worker/worker.js";

/**
 * Control operations between the main thread and a worker's thread. They travel as FRAME_OP
 * frames in the same ordered stream as envelopes (frames.ts).
 *
 * The frames the thread sends are numbered (0, 1, 2, ...; each batch carries the seq of its
 * first frame): `seq` in a reply is the number of the frame it answers. The main thread answers a frame
 * only when the thread waits for it (FRAME_ENVELOPE_ACK, requests), and in bulk: one `ack`
 * per received batch settles every waiting frame up to `seq` that no `nack` rejected.
 */

/** Sent by a worker's thread to the main thread. */
export type ThreadToMainOp =
  /** The worker was loaded and initialized. */
  | { t: "ready" }
  /** The worker could not be loaded: the thread exits after this. */
  | { t: "loadFailed"; error: ErrorData }
  /** sendAndReceive: register `key` for the reply (routed to this thread), watch the first hop, route `envelope` from `key`. Acked. */
  | { t: "request"; key: string; envelope: Uint8Array }
  /** The reply to a request arrived or the request gave up. */
  | { t: "unregister"; key: string }
  /**
   * A message for `key`, the reply address of a request that had ended, came before the main
   * thread applied its `unregister` and was dropped by the thread: raised as the "dropped"
   * event a late reply raises on the main thread. `from`: the key of its return route's first hop.
   */
  | { t: "dropped"; key: string; from: string }
  /**
   * A send with `{ ifFull: "drop" }` to `to` that the thread dropped itself, its earlier sends
   * to that hop still waiting for room (after `hopFull`): raised as the node's "dropped" event.
   */
  | { t: "droppedFull"; to: string }
  /**
   * A send of the thread waits for the link's credit, and the last frame it wrote was an
   * envelope for another first hop: if the main thread leaves a stream to that (full) hop
   * unread, it sets it aside and reads on (docs/architecture.md, "Flow").
   */
  | { t: "creditStarved" }
  /** A pool task: the messages of its next lane (PoolTask "run"'s `lanes`) were handled; what follows is the next lane's. */
  | { t: "laneEnd" }
  | { t: "addConsumer"; address: string; flowControlId: string }
  /** Answered by `result` (the producer info, or undefined). */
  | { t: "findProducer"; address: string }
  /** Answered by `result` once the worker started. */
  | { t: "startWorker"; request: StartRequest }
  /** Answered by `result` once the worker stopped (at once when it is the requesting worker itself). */
  | { t: "stopWorker"; address: string }
  /** Answered by `result` as soon as the node began stopping. */
  | { t: "stopNode" }
  /** A handler threw; the main thread logs it. */
  /** `replyTo`: the key of the return route's first hop of the message being handled (see replyKeyOf). */
  | { t: "handlerError"; what: string; error: ErrorData; replyTo?: string }
  /** A processor's `process` returned false: stop it. */
  | { t: "finished" }
  /** Said at once on `stop`: since when its handler (or `process` call) in progress runs (`Date.now()`), null if none. */
  | { t: "stopping"; busySince: number | null }
  /** After `stopping`: the handler (or `process` call) in progress ended; `shutdown` runs next. */
  | { t: "settled" }
  /** Reply to `stop`: shutdown ran; the thread exits next. */
  | { t: "stopped" };

/** Sent by the main thread to a worker's thread. */
export type MainToThreadOp =
  /**
   * Every frame up to `seq` that waits and was not nacked succeeded. `grant` lists local
   * addresses the thread may send to without waiting (the main thread tells it to `forget`
   * one when it goes away).
   */
  | { t: "ack"; seq: number; grant?: string[] }
  | { t: "nack"; seq: number; error: ErrorData }
  | { t: "result"; seq: number; value?: unknown }
  | { t: "forget"; key: string }
  /**
   * A send of the thread filled the mailbox of its first hop `key`: the thread holds its later
   * sends to it until `hopRoom` (its frames for it already on their way wait on the main thread).
   */
  | { t: "hopFull"; key: string }
  /** The first hop `key` has room again (what waited for it was routed): the thread's sends to it go on. */
  | { t: "hopRoom"; key: string }
  /** The first hop of the request registered under `key` went away: fail it now. */
  | { t: "hopGone"; key: string; error: ErrorData }
  /** The worker the request registered under `key` asked threw while handling it: fail it now with that. */
  | { t: "requestFailed"; key: string; error: ErrorData }
  /** Run shutdown and answer `stopped`. */
  | { t: "stop" };

/** What the main thread needs to start a worker on a thread's behalf. */
export interface StartRequest {
  addresses: string[];
  module: string;
  name: string;
  args: Uint8Array;
  placement?: Placement;
  kind: "worker" | "processor";
  mailbox?: MailboxLimits;
}

export type FoundProducer = ProducerInfo | undefined;

/** Settings of the node that every thread (and pool slot) gets at start. */
export interface ThreadSettings {
  /** The DEBUG patterns of the main thread's environment. */
  debug: string;
  /** The node's name, prefixing log lines. */
  prefix: string | undefined;
  sendAndReceiveTimeout: number;
}

/** What a thread of placement "thread" is started with (its workerData). */
export interface ThreadWorkerData extends ThreadSettings {
  port: MessagePort;
  module: string;
  name: string;
  args: Uint8Array;
  addresses: string[];
  kind: "worker" | "processor";
  /** The worker's mailbox bound, for returning credit in bulk. */
  mailbox: ResolvedMailboxLimits;
  /** Bytes the thread may have in flight to the main thread. */
  linkWindowBytes: number;
}

export function encodeOp(op: ThreadToMainOp | MainToThreadOp): Uint8Array {
  try {
    return packValue(op);
  } catch (cause) {
    throw new EncodeError(`Could not encode a "${op.t}" operation`, { cause });
  }
}

export function decodeOp<T extends { t: string }>(bytes: Uint8Array): T {
  let op: unknown;
  try {
    op = packr().unpack(bytes);
  } catch (cause) {
    throw new DecodeError("A control operation is not valid msgpack", { cause });
  }
  if (op === null || typeof op !== "object" || typeof (op as { t?: unknown }).t !== "string") {
    throw new DecodeError("A control operation must be a map with a string `t`");
  }
  return op as T;
}

/** A worker's constructor arguments as msgpack (Address and Route keep their class). */
export function encodeArgs(args: readonly unknown[]): Uint8Array {
  try {
    // Copy: pack() returns a view into msgpackr's shared buffer.
    return Uint8Array.from(packValue(args));
  } catch (cause) {
    throw unencodableError("A worker's constructor arguments (options.args) cannot be encoded to cross to its thread", "args", args, cause);
  }
}

export function decodeArgs(bytes: Uint8Array): unknown[] {
  let args: unknown;
  try {
    args = packr().unpack(bytes);
  } catch (cause) {
    throw new DecodeError("A worker's constructor arguments are not valid msgpack", { cause });
  }
  if (!Array.isArray(args)) throw new DecodeError("Worker arguments must be an array");
  return args;
}
