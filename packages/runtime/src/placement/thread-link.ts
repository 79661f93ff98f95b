import type { MessagePort } from "node:worker_threads";
import type { SendOptions } from "../context/context.js";
import type { Inbox } from "../context/inbox.js";
import { SendQueue, SENT } from "../context/send-queue.js";
import { errorFromData } from "../errors/hopwire-error.js";
import type { Logger } from "../logging/logger.js";
import { LocalMessage, type LocalInfo } from "../message/local-message.js";
import type { Route } from "../route/route.js";
import type { ResolvedMailboxLimits } from "../router/mailbox-bound.js";
import { frameSizeOf, LocalEnvelopeDecoder, writeEnvelope } from "./envelopes.js";
import {
  batchAndSpares,
  FRAME_ENVELOPE,
  FRAME_ENVELOPE_ACK,
  FRAME_ENVELOPE_ACK_DROP_IF_FULL,
  FRAME_ENVELOPE_DROP_IF_FULL,
  FRAME_ENVELOPE_SAME_HEAD,
  FRAME_OP,
  openBatch,
  PortWriter,
  readBatch,
} from "./frames.js";
import { decodeOp, encodeOp, type MainToThreadOp, type ThreadToMainOp } from "./protocol.js";

interface Waiter {
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
  /** For a send written to a hop not granted yet: that hop's key (a grant for it resolves the send at once). */
  hop?: string;
}


/**
 * The thread's end of its link to the main thread: one ordered stream of frames each way.
 *
 * A send whose first hop the main thread has granted (a local address it has seen work,
 * and will say `forget` about when it goes away) is written and resolved at once; any
 * other waits for the main thread's ack or nack, so that a send to an unknown address
 * rejects with UnknownAddressError. Acks come in bulk, one per batch the main thread read.
 *
 * Credit both ways (docs/architecture.md, "Flow"): the thread may have at most `window`
 * bytes of frames that the main thread has not routed yet — past it, sends wait in order —
 * and it tells the main thread how many of the worker's messages it has handled, so that
 * the main thread knows how full the worker's mailbox is. And per first hop: a hop the main
 * thread says is full (`hopFull`) holds the thread's sends to it until `hopRoom`, in order,
 * while its sends to other hops go on.
 */
export class ThreadLink {
  readonly #writer: PortWriter;
  readonly #acks = new Map<number, Waiter>();
  readonly #results = new Map<number, Waiter>();
  readonly #granted = new Set<string>();
  /** Envelopes from the main thread: a repeated head reuses the last one's routes. */
  readonly #envelopes = new LocalEnvelopeDecoder();
  /** Inboxes of this thread's pending sendAndReceive calls, by address key. */
  readonly requests = new Map<string, Inbox>();
  /** Where envelopes for the worker itself go. */
  onEnvelope: (message: LocalMessage) => void = () => {};
  /**
   * The keys of the worker's own addresses (none for a processor, which the main thread
   * routes nothing to): an envelope for any other address is not the worker's (see #onEnvelope).
   */
  ownKeys: ReadonlySet<string> = new Set();
  /** Called when the main thread asks the worker to stop. */
  onStop: () => void = () => {};
  /** Bytes of frames written that the main thread has not returned as credit. */
  #unrouted = 0;
  /** Wake the send queue's lanes waiting for credit when it comes back. */
  readonly #onCredit = new Set<() => void>();
  /** `creditStarved` was posted, and no credit came since. */
  #starved = false;
  /** The route of the last envelope written, if the last frame was one (a stream's: the main thread may hold it). */
  #lastOnward: Route | undefined;
  /** First hops the main thread said are full (`hopFull`), until it says they have room. */
  readonly #fullHops = new Set<string>();
  /** The wake-up of the lane waiting for each full hop. */
  readonly #onRoom = new Map<string, () => void>();
  readonly #sends: SendQueue<Outgoing>;
  /** The worker's messages handled and not yet reported to the main thread. */
  #consumedMessages = 0;
  #consumedBytes = 0;

  constructor(
    readonly port: MessagePort,
    readonly log: Logger,
    readonly window: number,
    readonly mailbox: ResolvedMailboxLimits,
  ) {
    this.#writer = new PortWriter(port);
    this.#sends = new SendQueue<Outgoing>(
      (item) => {
        if (this.#unrouted >= this.window) return (wake) => this.#awaitCredit(hopKeyOf(item), wake);
        // A drop send is judged on the main thread (or dropped in sendEnvelope): it never waits for a hop.
        if (this.#fullHops.size === 0 || isDropIfFull(item)) return undefined;
        const key = hopKeyOf(item);
        return this.#fullHops.has(key) ? (wake) => this.#awaitRoom(key, wake) : undefined;
      },
      (item) => {
        // One read of `t` (a LocalMessage has none): a send's path is not slowed by the kinds it is not.
        const t = (item as { t?: string }).t;
        if (t === undefined) return this.#write(item as LocalMessage, false);
        return t === "request" ? this.postAcked((item as Request).op) : this.#write((item as DropIfFull).message, true);
      },
      (item) => (isRequest(item) ? "sendAndReceive" : `send to ${(isDropIfFull(item) ? item.message : item).onwardRoute.toString()}`),
      // Order is kept per first hop, as on the main thread: a full hop holds only its own sends.
      hopKeyOf,
    );
    port.on("message", (value: unknown) => this.#receive(value));
  }

  /**
   * A lane (of first hop `key`) waits for credit. When the last frame written was an envelope
   * for another hop, the main thread may be leaving that hop's stream unread (it is full),
   * holding the credit: `creditStarved`, an operation that never waits for credit, has it set
   * aside. A thread that only streams to one hop waits for its credit as before, saying nothing.
   */
  #awaitCredit(key: string, wake: () => void): () => void {
    this.#onCredit.add(wake);
    const last = this.#lastOnward;
    if (!this.#starved && last !== undefined && last.next().key !== key) {
      this.#starved = true;
      this.post({ t: "creditStarved" });
    }
    return () => this.#onCredit.delete(wake);
  }

  #awaitRoom(key: string, wake: () => void): () => void {
    this.#onRoom.set(key, wake);
    return () => {
      if (this.#onRoom.get(key) === wake) this.#onRoom.delete(key);
    };
  }

  /**
   * True when a send along `onward` submitted now is written into the batch before it returns
   * (the window has room, and neither a send of this worker to its first hop waits nor is that
   * hop full: sends waiting for other hops do not matter, order is per first hop): its payload
   * may be lent, not copied first.
   */
  writesAtOnce(onward: Route): boolean {
    if (this.#unrouted >= this.window) return false;
    if (this.#sends.idle && this.#fullHops.size === 0) return true;
    const key = onward.next().key;
    return !this.#sends.waitsIn(key) && !this.#fullHops.has(key);
  }

  /**
   * Writes a send of the bytes body `bytes` into the batch now, with no message made (a
   * stream's: its payload alone, PortWriter.pushBytesBody), when `sendEnvelope` of it would be
   * written at once without waiting for an ack (#writesWithoutWaiting); returns false, writing
   * nothing, otherwise.
   */
  writeBytesAtOnce(onwardRoute: Route, returnRoute: Route, localInfo: LocalInfo, bytes: Uint8Array): boolean {
    if (!this.#writesWithoutWaiting(onwardRoute)) return false;
    this.#unrouted += this.#writer.pushBytesBody(onwardRoute, returnRoute, localInfo, bytes);
    this.#lastOnward = onwardRoute;
    return true;
  }

  /** Whether a send along `onwardRoute` is written at once (writesAtOnce) and needs no ack: its first hop is granted. */
  #writesWithoutWaiting(onwardRoute: Route): boolean {
    return this.writesAtOnce(onwardRoute) && this.#isGranted(onwardRoute);
  }

  /** Writes `message` into the batch now if #writesWithoutWaiting (true); false, writing nothing, otherwise (trySend, tryForward). */
  writeEnvelopeAtOnce(message: LocalMessage): boolean {
    if (!this.#writesWithoutWaiting(message.onwardRoute)) return false;
    void this.#write(message, false);
    return true;
  }

  /** Whether a send along `onwardRoute` may be written without waiting for an ack: its first hop is a local address the main thread granted. */
  #isGranted(onwardRoute: Route): boolean {
    const first = onwardRoute.next();
    return first.isLocal && this.#granted.has(first.key);
  }

  /**
   * Routes `message` through the main thread, from the worker's own address; waits while the
   * link has no credit. With `{ ifFull: "drop" }`, the main thread drops it if its first hop
   * is full when it gets there, and does not stop reading this thread's frames for that hop.
   */
  sendEnvelope(message: LocalMessage, options?: SendOptions): Promise<void> {
    if (options?.ifFull !== "drop") return this.#sends.submit(message, options);
    const next = message.onwardRoute.next();
    if (this.#fullHops.has(next.key)) {
      // Its hop is full (this thread's sends to it wait for room): dropped here, said by the main thread.
      // Not for a lane that waits for the link's credit alone: the send waits there, as any send does.
      this.post({ t: "droppedFull", to: next.toString() });
      return SENT;
    }
    return this.#sends.submit({ t: "dropIfFull", message }, options);
  }

  /** Posts a sendAndReceive request in order with the sends to its first hop `hop` (a key), waiting as they do; resolves on its ack. */
  sendRequest(op: Extract<ThreadToMainOp, { t: "request" }>, hop: string, options?: SendOptions): Promise<void> {
    return this.#sends.submit({ t: "request", op, hop }, options);
  }

  #write(message: LocalMessage, dropIfFull: boolean): Promise<void> | undefined {
    const seq = this.#writer.nextSeq;
    this.#lastOnward = message.onwardRoute;
    if (this.#isGranted(message.onwardRoute)) {
      this.#unrouted += writeEnvelope(this.#writer, dropIfFull ? FRAME_ENVELOPE_DROP_IF_FULL : FRAME_ENVELOPE, message);
      return undefined;
    }
    this.#unrouted += writeEnvelope(this.#writer, dropIfFull ? FRAME_ENVELOPE_ACK_DROP_IF_FULL : FRAME_ENVELOPE_ACK, message);
    const hop = message.onwardRoute.next().key;
    return new Promise<void>((resolve, reject) => this.#acks.set(seq, { resolve: resolve as () => void, reject, hop }));
  }

  /**
   * Counts one of the worker's messages as handled (in the frame bytes the main thread
   * counted it in); reports in bulk, or at once when the worker is idle.
   */
  consumed(message: LocalMessage, idle: boolean): void {
    this.#consumedFrame(frameSizeOf(message), idle);
  }

  #consumedFrame(bytes: number, idle: boolean): void {
    this.#consumedMessages++;
    this.#consumedBytes += bytes;
    const limits = this.mailbox;
    const held = this.#writer.pendingCredit;
    const quarter =
      (this.#consumedMessages + held.messages) * 4 >= limits.maxMessages || (this.#consumedBytes + held.bytes) * 4 >= limits.maxBytes;
    if (idle || quarter) {
      // A quarter goes at once (the sender may be waiting); an idle worker's rides on its next batch (replies, sends).
      this.#writer.addCredit(this.#consumedMessages, this.#consumedBytes, quarter ? "now" : "with-next");
      this.#consumedMessages = 0;
      this.#consumedBytes = 0;
    }
  }

  /** Writes an operation that needs no answer (never waits for credit: control must flow). */
  post(op: ThreadToMainOp): void {
    this.#lastOnward = undefined; // a stream with an operation in it is not left unread
    this.#unrouted += this.#writer.push(FRAME_OP, encodeOp(op));
  }

  /** Writes an operation and resolves when the main thread has applied it (ack) or rejects (nack). */
  postAcked(op: ThreadToMainOp): Promise<void> {
    const seq = this.#writer.nextSeq;
    this.post(op);
    return new Promise<void>((resolve, reject) => this.#acks.set(seq, { resolve: resolve as () => void, reject }));
  }

  /** Writes an operation and resolves with the main thread's result. */
  request<T>(op: ThreadToMainOp): Promise<T> {
    const seq = this.#writer.nextSeq;
    this.post(op);
    return new Promise<T>((resolve, reject) => this.#results.set(seq, { resolve: resolve as (v: unknown) => void, reject }));
  }

  /** Posts what is pending and closes the port: the thread can exit. */
  close(): void {
    this.#writer.flush();
    this.#writer.close();
    this.port.close();
  }

  #receive(value: unknown): void {
    const { batch, spares } = batchAndSpares(value);
    // Our own batches, read by the main thread and given back: the next ones are written into them.
    for (const spare of spares) this.#writer.addSpare(spare);
    try {
      const opened = openBatch(batch);
      try {
        readBatch(opened, (kind, bytes, _seq, size) => {
          if (kind === FRAME_ENVELOPE || kind === FRAME_ENVELOPE_SAME_HEAD) this.#onEnvelope(kind, bytes, size);
          else if (kind === FRAME_OP) this.#onOp(decodeOp<MainToThreadOp>(bytes));
          else this.log.error(`dropped a frame of unknown kind ${kind}`);
        });
      } finally {
        // Credit after the frames (a `hopFull` among them holds its hop's sends before they use it),
        // and whatever they hold: it must flow even if one of them is malformed.
        if (opened.credit.bytes > 0) this.#returned(opened.credit.bytes);
      }
    } catch (error) {
      this.log.error("dropped the rest of a malformed batch from the main thread", error);
    }
  }

  #returned(bytes: number): void {
    this.#unrouted = Math.max(0, this.#unrouted - bytes);
    this.#starved = false;
    if (this.#unrouted >= this.window || this.#onCredit.size === 0) return;
    const wakes = [...this.#onCredit];
    this.#onCredit.clear();
    for (const wake of wakes) wake();
  }

  #onEnvelope(kind: number, bytes: Uint8Array, size: number): void {
    let message: LocalMessage;
    try {
      message = this.#envelopes.decodeFrame(kind, bytes);
    } catch (error) {
      this.log.error("dropped an undecodable envelope", error);
      this.#consumedFrame(size, true);
      return;
    }
    const key = message.onwardRoute.next().key;
    const inbox = this.requests.get(key);
    if (inbox) {
      // A reply is consumed by its waiting call, not by the worker's queue.
      inbox.deliver(message);
      this.#consumedFrame(size, false);
    } else if (this.ownKeys.has(key)) this.onEnvelope(message);
    else {
      // The reply address of a sendAndReceive whose call has ended (its reply came, it timed
      // out): the main thread routes to it until this thread's `unregister` reaches it, and the
      // address is a consumer of the flow the request went into. What comes meanwhile (a second
      // reply, anything a peer that saw the address sends) is dropped as a late reply is on the
      // main thread, never handed to the worker, which flow controls may not let it reach.
      this.log.debug(`dropped a message for ${message.onwardRoute.next().toString()}: no call waits there any more`);
      this.post({ t: "dropped", key, from: message.returnRoute.isEmpty ? "" : message.returnRoute.next().key });
      this.#consumedFrame(size, true);
    }
  }

  /**
   * The main thread lets the thread send to `keys` without waiting from now on. Sends to them
   * written before the grant came, still waiting for their verdict, resolve now too: written
   * after it, they would have resolved at once. They waited on the main thread otherwise, one
   * verdict each, for as long as the main thread was held by a full mailbox: a burst of 3,000
   * sends with `{ timeout: 50 }` to a fresh hop resolved over 3.5 s (a user trial, session 43).
   */
  #grant(keys: readonly string[]): void {
    for (const key of keys) this.#granted.add(key);
    for (const [seq, waiter] of this.#acks) {
      if (waiter.hop === undefined || !this.#granted.has(waiter.hop)) continue;
      this.#acks.delete(seq);
      waiter.resolve(undefined);
    }
  }

  #onOp(op: MainToThreadOp): void {
    switch (op.t) {
      case "ack":
        for (const [seq, waiter] of this.#acks) {
          if (seq > op.seq) break;
          this.#acks.delete(seq);
          waiter.resolve(undefined);
        }
        if (op.grant) this.#grant(op.grant);
        break;
      case "nack": {
        const waiter = this.#acks.get(op.seq) ?? this.#results.get(op.seq);
        this.#acks.delete(op.seq);
        this.#results.delete(op.seq);
        // None waits for a send that a grant resolved before its verdict came (#grant): the hop went away meanwhile.
        if (waiter === undefined) this.log.warn("a send that had resolved could not be routed", errorFromData(op.error));
        else waiter.reject(errorFromData(op.error));
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
      case "hopFull":
        this.#fullHops.add(op.key);
        break;
      case "hopRoom": {
        this.#fullHops.delete(op.key);
        const wake = this.#onRoom.get(op.key);
        this.#onRoom.delete(op.key);
        wake?.();
        break;
      }
      case "hopGone":
      case "requestFailed":
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

/** What waits in a thread's send queue: an envelope, one sent with `{ ifFull: "drop" }`, or a sendAndReceive request. */
interface Request {
  readonly t: "request";
  readonly op: Extract<ThreadToMainOp, { t: "request" }>;
  /** The key of its first hop. */
  readonly hop: string;
}
interface DropIfFull {
  readonly t: "dropIfFull";
  readonly message: LocalMessage;
}
type Outgoing = LocalMessage | DropIfFull | Request;

function isDropIfFull(item: Outgoing): item is DropIfFull {
  return (item as Partial<DropIfFull>).t === "dropIfFull";
}

/** The key of an item's first hop: its lane in the send queue. */
function hopKeyOf(item: Outgoing): string {
  const t = (item as { t?: string }).t;
  if (t === undefined) return (item as LocalMessage).onwardRoute.next().key;
  return t === "request" ? (item as Request).hop : (item as DropIfFull).message.onwardRoute.next().key;
}

/** Not `instanceof LocalMessage`, which costs a generic lookup per send here (see main-context.ts's isRequest). */
function isRequest(item: Outgoing): item is Request {
  return (item as Partial<Request>).t === "request";
}
