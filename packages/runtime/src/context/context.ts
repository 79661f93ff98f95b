import type { Address, AddressLike } from "../address/address.js";
import type { FlowControlId, ProducerInfo } from "../flow-control/flow-controls.js";
import type { Logger } from "../logging/logger.js";
import type { LocalInfo, LocalMessage } from "../message/local-message.js";
import type { Routed } from "../message/routed.js";
import type { RouteLike } from "../route/route.js";
import type { WaitOptions } from "../util/wait.js";
import type { Processor, StartWorkerOptions, Worker, WorkerClass } from "../worker/worker.js";

/**
 * `timeout` and `signal` bound how long a send may wait for room in a full mailbox (see
 * docs/architecture.md, "Flow"); a send that gave up was not sent.
 */
export interface SendOptions extends WaitOptions {
  /**
   * Node-local metadata the message carries (never sent over a transport): a plain object
   * such as `{ tenant: "a" }`, or an InvalidOptionError naming `localInfo`. On `forward` it
   * replaces the message's own local info (as `message.withLocalInfo(...)` does); left out,
   * `forward` keeps the message's own.
   */
  localInfo?: LocalInfo;
  /**
   * What to do when the first hop is full (a worker's mailbox at its bound, a connection or a
   * secure channel without room). `"wait"` (the default): the send waits for room, in order
   * with this context's other sends. `"drop"`: the message is dropped instead, and the node
   * raises a `"dropped"` event (reason `"full"`, a MailboxFullError); the send resolves
   * either way, as a send does once it is on its way. For a service that answers untrusted
   * peers: one peer that reads nothing, or withholds a channel's credit, then cannot make it
   * wait, and so cannot stall the other peers it serves (docs/architecture.md, "Flow"). On
   * every placement a full hop holds only the sends to it; a plain send there still waits.
   * Fullness is judged where it is known: on the main thread, when the message reaches the
   * hop (a thread's send to a hop it was granted, and a pool task's, resolved before that),
   * or on a worker's thread once the main thread said that hop is full.
   */
  ifFull?: "wait" | "drop";
}

/** The options of `trySend` and `tryForward`: `localInfo` only, as they never wait (no `timeout`, `signal` or `ifFull`). */
export interface TrySendOptions extends Pick<SendOptions, "localInfo"> {}

/** The options of `sendAndReceive`: those of `send` but `ifFull` (a request dropped would only time out). */
export interface SendAndReceiveOptions extends Omit<SendOptions, "ifFull"> {
  /**
   * The most heap, in bytes, the reply's body may decode to (estimated from its msgpack
   * structure; DEFAULT_MAX_DECODED_BODY_BYTES, 64 MiB): a larger reply rejects the call with
   * DecodeError, nothing decoded. Infinity takes any reply: only from a peer you trust.
   */
  maxDecodedBytes?: number;
}

/**
 * What a worker may do with flow controls from wherever it runs. Mutations are applied in
 * order with the worker's sends; lookups are asynchronous because a worker on another
 * thread must ask the node's main thread.
 */
export interface FlowControlsAccess {
  /** Lets messages that arrived under `flowControlId` reach `address`. */
  addConsumer(address: AddressLike, flowControlId: FlowControlId): void;
  /** Await the result: on another thread it is a promise. */
  findFlowControlWithProducerAddress(address: AddressLike): ProducerInfo | undefined | Promise<ProducerInfo | undefined>;
}

/** A worker's (or the node's) handle on the node: sending, receiving, starting workers. */
export interface Context {
  /** The primary address of this context. */
  readonly address: Address;
  readonly log: Logger;
  readonly flowControls: FlowControlsAccess;

  /**
   * Sends `body` (msgpack-encoded) along `to`, with this context as the return route.
   * Resolves once the message is on its way; while its first hop is full (a bounded
   * mailbox at its mark, a connection or channel without room) it waits, in order with
   * this context's other sends. A send that times out or is aborted was not sent.
   */
  send(to: RouteLike, body: unknown, options?: SendOptions): Promise<void>;
  /**
   * Routes a message as it is: its return route and its local info are kept, unless
   * `options.localInfo` is given, which replaces the local info. Local info stays on this
   * node: a transport writes the routes and payload only, so the next node's worker sees
   * what its own receiving side sets (e.g. a secure channel's identifier), never what was
   * forwarded to it. Waits for room as `send` does.
   */
  forward(message: LocalMessage, options?: SendOptions): Promise<void>;
  /**
   * `send`, for a loop that streams: sends `body` along `to` now and returns true if that
   * needs no wait (the message is on its way, as when `send` resolves), or sends nothing and
   * returns false where `send` would wait: the first hop is full, an earlier send of this
   * context to that hop still waits, or, on a worker's own thread, the main thread has not
   * granted that hop (before a first send to it has been routed, and always for a hop it does
   * not grant, such as a `1#host:port` dial or a sendAndReceive's reply address). No promise
   * is made, so a refused message goes by `send`, which waits and keeps the order: `if
   * (!ctx.trySend(to, body)) await ctx.send(to, body)`. What `send` would reject with (a bad
   * route or body, an unknown address, a stopped node) is thrown; on a worker's own thread an
   * unknown address, which only the main thread finds, comes from the `send` that follows.
   */
  trySend(to: RouteLike, body: unknown, options?: TrySendOptions): boolean;
  /** `forward`, as `trySend` is `send`: routes `message` now and returns true, or returns false where `forward` would wait. */
  tryForward(message: LocalMessage, options?: TrySendOptions): boolean;
  /** Waits for the next message addressed to this context (node and detached contexts only). */
  receive<T = unknown>(options?: WaitOptions): Promise<Routed<T>>;
  /** Sends from a fresh address and waits for one reply; resolves to the reply's body. */
  sendAndReceive<T = unknown>(to: RouteLike, body: unknown, options?: SendAndReceiveOptions): Promise<T>;
  /** Starts a worker at one or more addresses (a class runs on its own thread by default; see StartWorkerOptions.placement). */
  startWorker(address: AddressLike | AddressLike[], worker: WorkerClass | Worker, options?: StartWorkerOptions): Promise<void>;
  /** Starts a processor (a worker driven by its own `process` loop) at `address`. */
  startProcessor(address: AddressLike, processor: WorkerClass<Processor> | Processor, options?: StartWorkerOptions): Promise<void>;
  /**
   * Stops the worker at `address` (its `shutdown` runs) and frees its addresses. A second call
   * while that stop is in progress waits for the same stop.
   */
  stopWorker(address: AddressLike): Promise<void>;
  /** Stops the whole node. */
  stop(): Promise<void>;
}
