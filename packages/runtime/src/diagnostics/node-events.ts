import type { FlowControlId } from "../flow-control/flow-controls.js";

/**
 * A message that came from the network (a TCP connection, a secure channel) was dropped
 * because flow controls do not let it reach its destination: the destination was never
 * made a consumer of the flow it came from. The remote sender is told nothing.
 */
export interface DeniedEvent {
  /** The local address the message was for. */
  readonly address: string;
  /** The producer that delivered it (a connection's receiver, a channel's decryptor). */
  readonly from: string;
  /**
   * The flow control id to consume to let such messages through: the producer's spawner's
   * (a listener's) when it has one, else the producer's own.
   */
  readonly flowControlId: FlowControlId;
  /** The producer's own flow control id (equal to `flowControlId` when it was not spawned). */
  readonly producerFlowControlId: FlowControlId;
}

/** Why a message was dropped (see DroppedEvent). */
export type DropReason = "unknown-address" | "unknown-transport" | "full" | "undeliverable";

/**
 * A message whose sender cannot be told was dropped: it came from the network, or from a
 * relay, or from a worker on another thread whose `send` had already resolved.
 */
export interface DroppedEvent {
  /** The next hop that could not be reached. */
  readonly address: string;
  /** Who routed it: a producer, a relay, or a worker's address. */
  readonly from: string;
  /**
   * Why: no worker has the address (`"unknown-address"`), no transport handles its type
   * (`"unknown-transport"`), its sender asked not to wait for a first hop that was full
   * (`"full"`: a send with `{ ifFull: "drop" }`, a MailboxFullError), or any other error stopped it (`"undeliverable"`: a connection
   * that closed, a frame too large, a TCP dial that failed after the message was queued for it).
   */
  readonly reason: DropReason;
  /** The typed error that stopped it, whose code agrees with `reason` (UnknownAddressError for "unknown-address", also where the router refused a network peer's message to an address nobody has). */
  readonly error: Error;
  /**
   * For `"unknown-address"`: why the address went away, when the node remembers it had one
   * there (a connection that closed, a worker that stopped; the last 256 per node), e.g.
   * `"the connection to 127.0.0.1:4000 closed: …"`. Absent otherwise.
   */
  readonly gone?: string;
}

/** A worker's own code threw; the worker keeps running. For `handleMessage`, the message is dropped. */
export interface HandlerErrorEvent {
  /** The worker's (primary) address. */
  readonly worker: string;
  /** Which method threw: "handleMessage", "process" or "shutdown" ("handleMessage" too for a pool slot that ended under a task). */
  readonly what: string;
  /** What it threw (rebuilt on the main thread when the worker runs elsewhere); from `handleMessage`, on every placement, a WorkerHandlerError whose `cause` is the thrown value. */
  readonly error: Error;
}

/**
 * A worker's thread ended while the node was running: its code threw outside a handler
 * call, or left a rejected promise unhandled (a `send` that was not awaited or caught), or
 * called `process.exit()`. The worker is gone: messages to its address are dropped as for
 * an unknown address, and sends to it reject with UnknownAddressError.
 */
export interface WorkerFailedEvent {
  /** The worker's (primary) address. */
  readonly worker: string;
  /** Why its thread ended (the uncaught error, rebuilt on the main thread, or the exit). */
  readonly error: Error;
}

/**
 * A listener on this node refused a peer: a secure channel listener refused a handshake (the
 * peer's identity is not trusted, its signature does not verify, the trust policy threw, ...).
 * The peer is told (within the listener's refusal budget) and fails; this is the listener's
 * side of it. Raised by the package that owns the listener (`router.reportRefused`).
 */
export interface RefusedEvent {
  /** The address of the listener that refused ("bob_listener"). */
  readonly listener: string;
  /** What was refused, in a few words: "a secure channel". */
  readonly what: string;
  /** The peer's identifier when it was authenticated before the refusal (identifiers are public), else undefined. */
  readonly peer: string | undefined;
  /** The first hop the peer came through (a connection's address): who it was when `peer` is not known. */
  readonly via: string;
  /** Why, as a stable code: "HANDSHAKE_UNTRUSTED_IDENTITY", "HANDSHAKE_BAD_SIGNATURE", ... (what the peer is told). */
  readonly reason: string;
  /** The typed error that refused it (never a key or a payload in it). */
  readonly error: Error;
}

/**
 * The events of a node (`node.on(name, listener)`), raised on the node's main thread
 * wherever the worker concerned runs: main thread, its own thread or a pool slot.
 */
export interface NodeEvents {
  denied: [event: DeniedEvent];
  dropped: [event: DroppedEvent];
  "handler-error": [event: HandlerErrorEvent];
  "worker-failed": [event: WorkerFailedEvent];
  refused: [event: RefusedEvent];
}

/** The name of a node event. */
export type NodeEventName = keyof NodeEvents;
