import { Address, ephemeralAddress, toAddress, type AddressLike } from "../address/address.js";
import { bodyMessage } from "../codec/body.js";
import { UnsupportedOperationError } from "../errors/errors.js";
import { LocalMessage, NO_LOCAL_INFO, type LocalInfo } from "../message/local-message.js";
import type { Routed } from "../message/routed.js";
import type { NodeCore } from "../node/node-core.js";
import { adoptRoute, route, type Route, type RouteLike } from "../route/route.js";
import type { WaitOptions } from "../util/wait.js";
import type { Processor, StartWorkerOptions, Worker, WorkerClass } from "../worker/worker.js";
import type { Context, FlowControlsAccess, SendAndReceiveOptions, SendOptions, TrySendOptions } from "./context.js";
import type { Inbox } from "./inbox.js";
import { PendingReply } from "./pending-reply.js";
import { SendQueue, SENT } from "./send-queue.js";
import { checkForwardMessage, checkSendOptions, checkTrySendOptions, toForward } from "./send-options.js";
import { checkWaitOptions } from "../options/plain-options.js";
import { RouteMemo } from "../router/route-memo.js";
import { droppedForFull } from "../router/drop-if-full.js";
import type { Mailbox } from "../router/mailbox.js";

/** A context on the node's main thread: it talks to the router directly. */
export class MainContext implements Context {
  readonly #core: NodeCore;
  readonly #inbox: Inbox | undefined;
  /** The return route of every send: built once, routes are immutable. */
  readonly #returnRoute: Route;
  /** Sends that wait for room in a full first hop, in order (sendAndReceive's requests too). */
  readonly #sends: SendQueue<Outgoing>;
  /** Where this context's own sends went lately (not sendAndReceive's). */
  readonly #memo: RouteMemo;

  constructor(core: NodeCore, readonly address: Address, inbox?: Inbox) {
    this.#core = core;
    this.#inbox = inbox;
    this.#returnRoute = route(address);
    const router = core.router;
    // This context's own sends (not sendAndReceive's, each from an address of its own).
    const memo = (this.#memo = new RouteMemo(router, address.key));
    const gate = (item: Outgoing) => {
      const next = messageOf(item).onwardRoute.next();
      const mailbox = memo.peek(next) ?? router.mailboxOf(next);
      return mailbox?.isFull && mailbox.onRoom ? (wake: () => void) => mailbox.onRoom!(wake) : undefined;
    };
    const write = (item: Outgoing) => {
      core.assertRunning();
      if (isRequest(item)) {
        router.route(item.message, item.senderKey, item.lent);
        item.reply.markSent();
      }
      else memo.route(item);
    };
    this.#sends = new SendQueue<Outgoing>(
      gate,
      write,
      (item) => `${isRequest(item) ? "sendAndReceive" : "send"} to ${messageOf(item).onwardRoute.toString()}`,
      // Order is kept per first hop: a send waiting on a full channel holds up only that channel's sends.
      (item) => messageOf(item).onwardRoute.next().key,
      // A plain send asks and routes in one memo look-up; a request (sendAndReceive's) as above.
      (item) => {
        if (!isRequest(item)) {
          core.assertRunning();
          return memo.routeUnlessFull(item);
        }
        if (gate(item)) return false;
        write(item);
        return true;
      },
    );
  }

  get log() {
    return this.#core.log;
  }

  get flowControls(): FlowControlsAccess {
    return this.#core.flowControls;
  }

  /**
   * Routes at once, or waits (in order with this context's other sends) while the first hop
   * is full. Not an async function, nor is `forward`: a send written at once returns the one
   * settled promise SENT (an async function made two promises and a thenable job per send,
   * most of a small message's cost on a sender); failures still come as rejections.
   */
  send(to: RouteLike, body: unknown, options?: SendOptions): Promise<void> {
    try {
      checkSendOptions(options, "send");
      this.#core.assertRunning();
      const onward = route(to);
      const localInfo = options?.localInfo ?? NO_LOCAL_INFO;
      if (options?.ifFull === "drop") return this.#sendOrDrop(bodyMessage(onward, this.#returnRoute, body, localInfo, false), options);
      const message = this.#lendOrMake(onward, body, localInfo);
      return message === undefined ? SENT : this.#sends.submit(message, options);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * A bytes body that a mailbox can take lent now (#lenderFor) is delivered so, and undefined
   * returned; otherwise the message to submit, with its own copy of a bytes body.
   */
  #lendOrMake(onward: Route, body: unknown, localInfo: LocalInfo): LocalMessage | undefined {
    const lender = body instanceof Uint8Array ? this.#lenderFor(onward) : undefined;
    if (lender?.deliverBytes !== undefined) {
      // No message made at all: the mailbox copies the bytes into its own memory (a batch, a write buffer, staging).
      lender.deliverBytes(onward, this.#returnRoute, localInfo, body as Uint8Array, this.#memo.senderKey);
      return undefined;
    }
    const message = bodyMessage(onward, this.#returnRoute, body, localInfo, lender !== undefined);
    if (lender === undefined) return message;
    this.#memo.route(message);
    return undefined;
  }

  /** `send`'s path for a send written at once; false, nothing sent, where send would wait. */
  trySend(to: RouteLike, body: unknown, options?: TrySendOptions): boolean {
    checkTrySendOptions(options, "trySend");
    this.#core.assertRunning();
    const message = this.#lendOrMake(route(to), body, options?.localInfo ?? NO_LOCAL_INFO);
    return message === undefined || this.#sends.trySubmit(message);
  }

  tryForward(message: LocalMessage, options?: TrySendOptions): boolean {
    checkForwardMessage(message);
    checkTrySendOptions(options, "tryForward");
    this.#core.assertRunning();
    return this.#sends.trySubmit(toForward(message, options));
  }

  /** A send with `{ ifFull: "drop" }`, its message made first (its size counts: Mailbox.wouldOverflow) and never lent. */
  #sendOrDrop(message: LocalMessage, options: SendOptions): Promise<void> {
    return this.#droppedForFull(message) ? SENT : this.#sends.submit(message, options);
  }

  /**
   * For a send with `{ ifFull: "drop" }`: drops it (the node's "dropped" event) when its first
   * hop is full, or this context's earlier sends to that hop still wait for room.
   */
  #droppedForFull(message: LocalMessage): boolean {
    const next = message.onwardRoute.next();
    return droppedForFull(this.#core.router, next, this.address.key, message.payloadLength, this.#sends.waitsIn(next.key));
  }

  /**
   * Whether a request to `firstHop` submitted now is written before `submit` returns (nothing of
   * this context's waits, the hop has room) into a local mailbox that takes lent messages
   * (`deliverLent`: it copies their payload before it returns). Then sendAndReceive lends it
   * its bytes body, routed with `lent`, instead of copying the body into a buffer of its own.
   */
  #mayLendTo(firstHop: Address): boolean {
    if (!this.#sends.idle || !firstHop.isLocal) return false;
    const mailbox = this.#core.router.mailboxOf(firstHop);
    return mailbox !== undefined && mailbox.deliverLent !== undefined && mailbox.isFull !== true;
  }

  /**
   * The mailbox a bytes body sent along `onward` now may be lent to rather than copied for, if
   * any: the send goes at once (nothing of this context's waits) to a mailbox that copies it
   * before returning (a thread's or a pool's batch, a connection's write buffer, a channel's
   * staging memory), so it is copied once, not twice. Anything else (a main-thread worker
   * keeps the message) gets its own copy, as the caller may reuse its buffer as soon as `send` returns.
   */
  #lenderFor(onward: Route): Mailbox | undefined {
    return this.#sends.idle ? this.#memo.copyingMailbox(onward.at(0)) : undefined;
  }

  forward(message: LocalMessage, options?: SendOptions): Promise<void> {
    try {
      checkForwardMessage(message);
      checkSendOptions(options, "forward");
      this.#core.assertRunning();
      if (options?.ifFull === "drop" && this.#droppedForFull(message)) return SENT;
      return this.#sends.submit(toForward(message, options), options);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  receive<T = unknown>(options: WaitOptions = {}): Promise<Routed<T>> {
    try {
      checkWaitOptions(options, "receive options");
    } catch (error) {
      return Promise.reject(error);
    }
    if (!this.#inbox) {
      return Promise.reject(
        new UnsupportedOperationError("receive is for the node's own context; a worker gets its messages in handleMessage"),
      );
    }
    return this.#inbox.receive<T>(options);
  }

  /**
   * Not an async function: a reply address is a PendingReply (its own mailbox, deadline and
   * hop watcher), and a request written at once starts its clock without awaiting the send.
   */
  sendAndReceive<T = unknown>(to: RouteLike, body: unknown, options: SendAndReceiveOptions = {}): Promise<T> {
    const core = this.#core;
    let reply: PendingReply<T>;
    let message: LocalMessage;
    let lend = false;
    try {
      checkSendOptions(options, "sendAndReceive");
      core.assertRunning();
      const onward = route(to);
      const firstHop = onward.next();
      const ephemeral = ephemeralAddress();
      reply = new PendingReply<T>(ephemeral, core.router, core.deadlines, onward, viaOf(core, firstHop), options);
      reply.open(firstHop, options.signal);
      if (!reply.pending) return reply.promise;
      try {
        lend = body instanceof Uint8Array && this.#mayLendTo(firstHop);
        message = bodyMessage(onward, adoptRoute([ephemeral]), body, options.localInfo ?? NO_LOCAL_INFO, lend);
      } catch (error) {
        reply.fail(error);
        return reply.promise;
      }
    } catch (error) {
      return Promise.reject(error);
    }
    const timeout = options.timeout ?? core.options.sendAndReceiveTimeout;
    // In order with this context's sends, and waiting for room as they do (the time counts against the timeout).
    let sent: Promise<void>;
    try {
      sent = this.#sends.submit({ message, senderKey: reply.address.key, lent: lend, reply }, { timeout, signal: options.signal });
    } catch (error) {
      reply.fail(error);
      return reply.promise;
    }
    if (sent === SENT) reply.startClock(timeout);
    else {
      const started = Date.now();
      sent.then(
        () => reply.startClock(timeout, Math.min(timeout, Date.now() - started)),
        (error: unknown) => reply.fail(error),
      );
    }
    return reply.promise;
  }

  /** Starts a worker at one or more addresses (a class runs on its own thread by default; see StartWorkerOptions.placement). */
  startWorker(address: AddressLike | AddressLike[], worker: WorkerClass | Worker, options?: StartWorkerOptions): Promise<void> {
    return this.#core.startWorker(address, worker, options, "worker");
  }

  /** Starts a processor (a worker driven by its own `process` loop) at `address`. */
  startProcessor(address: AddressLike, processor: WorkerClass<Processor> | Processor, options?: StartWorkerOptions): Promise<void> {
    return this.#core.startWorker(address, processor, options, "processor");
  }

  /**
   * Stops a worker and waits for its shutdown — except when it is this context's own worker:
   * its shutdown waits for the handler that is calling, so this resolves once the stop began.
   */
  stopWorker(address: AddressLike): Promise<void> {
    const core = this.#core;
    const target = toAddress(address);
    const own = core.handleOf(this.address);
    const ownStop = core.stopInProgress(this.address);
    // Its own worker, before its stop began (the same handle) or after (the same stop): waiting would wait for this handler.
    if ((own !== undefined && own === core.handleOf(target)) || (ownStop !== undefined && ownStop === core.stopInProgress(target))) {
      void core.stopWorker(target).catch((error: unknown) => core.log.warn(`worker ${this.address.toString()} failed to stop`, error));
      return Promise.resolve();
    }
    return core.stopWorker(target);
  }

  /** Stops the node. From a worker's context it resolves once the stop began (see stopWorker). */
  stop(): Promise<void> {
    void this.#core.stop();
    return Promise.resolve();
  }
}

/**
 * What the first hop of a request is when it leads to another node (a transport's mailbox
 * kind, or "connection" for a producer's alias), for its timeout's message: one table
 * lookup per request, the message itself is built only if it times out.
 */
function viaOf(core: NodeCore, firstHop: Address): string | undefined {
  const kind = core.router.mailboxOf(firstHop)?.kind;
  if (kind !== undefined) return kind;
  return core.flowControls.producerByKey(firstHop.key) !== undefined ? "connection" : undefined;
}

/** A sendAndReceive request in a context's send queue: its message, sent from its own reply address. */
interface Request {
  readonly message: LocalMessage;
  readonly senderKey: string;
  /** Its body's bytes are the caller's (lent): the first hop copies them through deliverLent before routing returns. */
  readonly lent: boolean;
  /** The call waiting for its reply: told when the request went out. */
  readonly reply: { markSent(): void };
}

/** What waits in a context's send queue: a message it sends, or a sendAndReceive request. */
type Outgoing = LocalMessage | Request;

/**
 * Not `instanceof LocalMessage`: a class in our bundles has its name set again (esbuild's
 * keepNames), and V8 then checks an imported class through a generic lookup of
 * Symbol.hasInstance, ~14 ns against ~2 for this load (a 64 B sender: ~5 % of its CPU).
 */
function isRequest(item: Outgoing): item is Request {
  return (item as Partial<Request>).senderKey !== undefined;
}

function messageOf(item: Outgoing): LocalMessage {
  return isRequest(item) ? item.message : item;
}
