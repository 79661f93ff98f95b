import { LOCAL, type Address } from "../address/address.js";
import {
  DuplicateAddressError,
  FlowControlDeniedError,
  InvalidRouteError,
  RouteUnavailableError,
  UnknownAddressError,
  UnknownTransportError,
  MailboxFullError,
} from "../errors/errors.js";
import { stackless } from "../errors/stackless.js";
import type { FlowControls } from "../flow-control/flow-controls.js";
import type { DropReason, RefusedEvent } from "../diagnostics/node-events.js";
import type { LocalMessage } from "../message/local-message.js";
import { deliverTo, type Mailbox } from "./mailbox.js";

/**
 * Routes a message whose next hop has a non-local transport type (e.g. "1#host:port").
 * The transport usually rewrites the hop to a connection's local address and routes again.
 */
export type TransportRoute = (message: LocalMessage, senderKey: string | undefined) => Mailbox | undefined | void;

/** What a transport would deliver to for one of its addresses now (a connection, a dial queue), if anything. */
export type TransportMailbox = (address: Address) => Mailbox | undefined;

/**
 * Called when a first hop goes away while a request waits on it: a function, or an object whose
 * `hopGone` is called (a long-lived watcher, such as a secure channel end, then needs no closure).
 */
type HopWatcher = ((error: Error) => void) | { hopGone(error: Error): void };

/** Why an address went away: the error, or a function that makes it (called only if a request waits on the address). */
export type ReasonLike = Error | (() => Error);

/**
 * Told about a message the router refused when its sender cannot be told: one from a
 * producer (the network). Only the failure path calls it.
 */
export interface UndeliverableReporter {
  denied(destination: Address, senderKey: string): void;
  /** `gone`: why `next` went away, when the router remembers (see Router.#goneReasons). */
  dropped(next: Address, fromKey: string, reason: DropReason, error: Error, gone?: string): void;
  refused(event: RefusedEvent, why: () => string): void;
  sendQueueBudgetSpent(maxBytes: number, channels: number): void;
}

/** Reasons remembered for addresses that went away (see Router.#goneReasons): a key and a message each. */
const MAX_GONE_REASONS = 256;

/** Retired addresses remembered per router (see Router.retire): 16 bytes of key and a Set entry each. */
const MAX_RETIRED = 4096;

/**
 * The node's address table. It lives on the node's main thread; every message, wherever it
 * was sent from, passes through `route` once per local hop.
 */
export class Router {
  readonly #table = new Map<string, Mailbox>();
  /**
   * Keys registered short-lived (register1's `shortLived`) at a mailbox that is not itself
   * short-lived: a thread worker's sendAndReceive reply keys, at its thread's mailbox. Treated
   * as a short-lived mailbox's address is (Mailbox.shortLived): never kept by a RouteMemo, and
   * gone without a new epoch.
   */
  readonly #shortLivedKeys = new Set<string>();
  readonly #transports = new Map<number, TransportRoute>();
  readonly #transportMailboxes = new Map<number, TransportMailbox>();
  readonly #watchers = new Map<string, Set<HopWatcher>>();

  #reporter: UndeliverableReporter | undefined;
  /** Errors `route` reported as it threw them (see reportDropped; failure paths only; weak, so they go with the errors). */
  readonly #reported = new WeakSet<Error>();
  /** Keys of retired addresses (see `retire`), oldest first. */
  readonly #retired = new Set<string>();
  /**
   * Why recently unregistered addresses went away, when their owner said so with an error
   * (a connection that closed, or is reconnecting): a message to one of them gets an
   * UnknownAddressError that says so, not one that leaves the user to guess whose the address
   * was. Only the messages are kept (an error or a lazy reason could hold its owner alive);
   * the last MAX_GONE_REASONS.
   */
  readonly #goneReasons = new Map<string, string>();
  /** Bumped when an address goes (not a short-lived one) or the transports change (see `epoch`). */
  #version = 0;
  /**
   * The last error made for a network message's drop, per kind (see #networkError): a peer
   * sending to one address it may not reach gets the same error objects message after message.
   */
  readonly #lastNetworkErrors = new Map<NetworkDrop, { readonly key: string; readonly error: Error }>();

  constructor(readonly flowControls: FlowControls) {}

  /**
   * Changes whenever a delivery that was allowed may now go elsewhere or be refused: an
   * address unregistered, a transport added or removed, flow controls withdrawing something
   * (FlowControls.version). While it stays the same, a message with the same next hop and
   * sender goes to the same mailbox, so a hot path may keep that verdict (see RouteMemo).
   * Only deliveries that succeeded are kept, never a refusal, so what only adds (an address
   * registered, a consumer added) leaves it as it is; so does unregistering a short-lived
   * mailbox or key, which is never kept. A sendAndReceive (a reply address registered, made a
   * consumer, and gone), on the main thread or a worker's thread, then spoils no memo.
   */
  get epoch(): number {
    return this.#version + this.flowControls.version;
  }

  /** Where refusals of network messages are reported (the node's diagnostics). */
  setReporter(reporter: UndeliverableReporter): void {
    this.#reporter = reporter;
  }

  /**
   * For components that route on behalf of someone who cannot be told (a relay, a worker's
   * thread whose send already resolved, a dial that failed after it queued the message):
   * reports a message they could not deliver, whatever stopped it. Errors other than an
   * unknown address or transport (a connection that closed, a frame too large, a refused
   * dial) are "undeliverable".
   */
  reportDropped(next: Address, fromKey: string, error: unknown): void {
    const reason: DropReason =
      error instanceof UnknownAddressError
        ? "unknown-address"
        : error instanceof UnknownTransportError
          ? "unknown-transport"
          : error instanceof MailboxFullError
            ? "full"
            : "undeliverable";
    const thrown = error instanceof Error ? error : new Error(String(error));
    // `route` reports what it refuses for a producer and throws it: a relay it threw to does not report it again.
    // (Not remembered here: one error may stand for several messages, e.g. a dial's queue.)
    if (this.#reported.has(thrown)) return;
    this.#dropped(next, fromKey, reason, thrown);
  }

  /**
   * The error a network message's drop of this `kind` for `next` is reported and thrown with:
   * the last one made for them, or a new one without a stack, remembered as reported. A peer
   * decides how many such drops there are: two errors and a WeakSet entry per message cost
   * ~5 µs (stackless), and a stream of 4-byte frames to one address held the loop for seconds.
   */
  #networkError(kind: NetworkDrop, next: Address, gone?: string): Error {
    const key = gone === undefined ? next.key : `${next.key}\u0000${gone}`;
    const last = this.#lastNetworkErrors.get(kind);
    if (last?.key === key) return last.error;
    const error = stackless(() =>
      kind === "denied" ? new FlowControlDeniedError(`Flow controls do not allow delivery to ${next.toString()}`) : kind === "unknown-transport" ? unknownTransportError(next) : unknownAddressError(next, gone),
    );
    this.#reported.add(error);
    this.#lastNetworkErrors.set(kind, { key, error });
    return error;
  }

  /** Tells the reporter of a drop, with why an unknown address went away when the router remembers it. */
  #dropped(next: Address, fromKey: string, reason: DropReason, error: Error): void {
    this.#reporter?.dropped(next, fromKey, reason, error, reason === "unknown-address" ? this.#goneReasons.get(next.key) : undefined);
  }

  /**
   * For listeners that accept or refuse peers (a secure channel listener): reports a peer
   * refused, as the node's `"refused"` event and a rate-limited warning (one line per listener
   * and reason a minute, `NodeOptions.warnings`). `why` words the cause for people (called only
   * when a line is written): an identifier, an expectation, never a key or a payload.
   */
  reportRefused(event: RefusedEvent, why: () => string): void {
    this.#reporter?.refused(event, why);
  }

  /** A node's secure channels hold their whole send-queue budget: a warning (see Diagnostics.sendQueueBudgetSpent). */
  reportSendQueueBudgetSpent(maxBytes: number, channels: number): void {
    this.#reporter?.sendQueueBudgetSpent(maxBytes, channels);
  }

  /** The mailbox registered under a local address's key, if any. */
  localMailbox(key: string): Mailbox | undefined {
    return this.#table.get(key);
  }

  /** True when a mailbox is registered at `address`. */
  has(address: Address): boolean {
    return this.#table.has(address.key);
  }

  /**
   * The mailbox a message to `address` would go to now, if any (to ask whether it is full
   * before routing): the registered one for a local address, the transport's for another.
   */
  mailboxOf(address: Address): Mailbox | undefined {
    return address.isLocal ? this.#table.get(address.key) : this.#transportMailboxes.get(address.type)?.(address);
  }

  /** Registers every address of a mailbox at once, or none if one is taken. */
  register(addresses: readonly Address[], mailbox: Mailbox): void {
    if (addresses.length === 1) return this.register1(addresses[0]!, mailbox);
    for (const a of addresses) {
      if (!a.isLocal) throw new InvalidRouteError(`A worker address must be local, got ${a.toString()}`);
      if (this.#table.has(a.key)) throw new DuplicateAddressError(`Address ${a.toString()} is already in use`);
    }
    const keys = new Set(addresses.map((a) => a.key));
    if (keys.size !== addresses.length) throw new DuplicateAddressError("A worker was given the same address twice");
    // No new epoch: no verdict is kept for an address that had no mailbox (see `epoch`).
    for (const a of addresses) {
      this.#table.set(a.key, mailbox);
      this.#retired.delete(a.key);
      this.#goneReasons.delete(a.key);
    }
  }

  /**
   * `register` of one address (every sendAndReceive registers its reply address: no arrays).
   * `shortLived`: the address lives for one request, as a short-lived mailbox's does
   * (Mailbox.shortLived), though `mailbox` serves others too (a thread's); its key must never
   * be a RouteMemo's sender key either.
   */
  register1(address: Address, mailbox: Mailbox, shortLived = false): void {
    if (!address.isLocal) throw new InvalidRouteError(`A worker address must be local, got ${address.toString()}`);
    const key = address.key;
    if (this.#table.has(key)) throw new DuplicateAddressError(`Address ${address.toString()} is already in use`);
    this.#table.set(key, mailbox);
    if (shortLived && mailbox.shortLived !== true) this.#shortLivedKeys.add(key);
    if (this.#goneReasons.size > 0) this.#goneReasons.delete(key);
  }

  /** Whether the mailbox at `key` is there for one request (a short-lived mailbox, or a key registered short-lived). */
  isShortLived(key: string, mailbox: Mailbox): boolean {
    return mailbox.shortLived === true || (this.#shortLivedKeys.size > 0 && this.#shortLivedKeys.has(key));
  }

  #rememberGone(key: string, why: string): void {
    this.#goneReasons.delete(key); // re-inserted last: the oldest go first
    this.#goneReasons.set(key, why);
    if (this.#goneReasons.size > MAX_GONE_REASONS) this.#goneReasons.delete(this.#goneReasons.keys().next().value!);
  }

  /**
   * Removes addresses; requests waiting on them as their first hop fail fast, with
   * RouteUnavailableError (cause: `reason`), or with `reason` itself if it is one. A reason
   * given as a function is called only if a request waits (an owner whose reason is costly to
   * build and seldom needed, e.g. a closing secure channel, makes it only then).
   */
  unregister(addresses: readonly Address[], reason?: ReasonLike): void {
    for (const a of addresses) this.unregister1(a, reason);
  }

  /**
   * `unregister` of one address. A short-lived one's (a reply address: isShortLived) leaves the
   * epoch as it is: no RouteMemo remembers one, so no kept verdict goes with it.
   */
  unregister1(address: Address, reason?: ReasonLike): void {
    const key = address.key;
    const mailbox = this.#table.get(key);
    // A short-lived key's mark goes with it (keys in the set are registered ones: delete says whether it was one).
    const unkept = mailbox !== undefined && (mailbox.shortLived === true || this.#shortLivedKeys.delete(key));
    if (mailbox !== undefined) {
      this.#table.delete(key);
      if (!unkept) this.#version++;
      if (reason instanceof Error) this.#rememberGone(key, reason.message);
    }
    this.flowControls.cleanupKey(key, unkept);
    const watchers = this.#watchers.get(key);
    if (watchers === undefined) return;
    this.#watchers.delete(key);
    if (watchers.size === 0) return;
    // A reason that already says why the route is unavailable (e.g. a closed secure channel) is passed on as is.
    const given = typeof reason === "function" ? reason() : reason;
    // Otherwise the reason is named in the message too: it is what the caller needs (e.g. why a connection closed).
    const why = given instanceof Error ? `: ${given.message}` : "";
    const error =
      given instanceof RouteUnavailableError ? given : new RouteUnavailableError(`${address.toString()} stopped before a reply arrived${why}`, { cause: given });
    for (const w of watchers) {
      if (typeof w === "function") w(error);
      else w.hopGone(error);
    }
  }

  /**
   * Unregisters addresses whose owner ended on purpose (a closed secure channel's side that
   * faces the network): messages that still arrive for them, already on their way when it
   * closed, are refused as for any unknown address, but not reported as "dropped" (no event,
   * no warning): they are expected, not a mistake to fix. The last MAX_RETIRED are remembered.
   */
  retire(addresses: readonly Address[], reason?: ReasonLike): void {
    this.unregister(addresses, reason);
    for (const a of addresses) {
      this.#retired.add(a.key);
      if (this.#retired.size > MAX_RETIRED) this.#retired.delete(this.#retired.values().next().value!);
    }
  }

  /** Routes messages whose next hop has transport type `type` through `transport`. */
  registerTransport(type: number, transport: TransportRoute, mailboxOf?: TransportMailbox): void {
    if (type === LOCAL) throw new InvalidRouteError("Transport type 0 is reserved for local addresses");
    if (this.#transports.has(type)) throw new DuplicateAddressError(`A transport is already registered for type ${type}`);
    this.#version++;
    this.#transports.set(type, transport);
    if (mailboxOf) this.#transportMailboxes.set(type, mailboxOf);
  }

  /** Stops routing transport type `type`. */
  unregisterTransport(type: number): void {
    this.#version++;
    this.#transports.delete(type);
    this.#transportMailboxes.delete(type);
  }

  /** Calls `watcher` if `hop` is unregistered; returns a function that stops watching. */
  watchHop(hop: Address, watcher: HopWatcher): () => void {
    const key = hop.key;
    let set = this.#watchers.get(key);
    if (!set) this.#watchers.set(key, (set = new Set()));
    set.add(watcher);
    return () => this.unwatchHop(hop, watcher);
  }

  /** Stops a `watchHop` (the same as calling the function it returned). */
  unwatchHop(hop: Address, watcher: HopWatcher): void {
    const key = hop.key;
    const current = this.#watchers.get(key);
    if (current === undefined || !current.delete(watcher) || current.size > 0) return;
    // A registered hop keeps its empty set for the next request through it (unregister drops it).
    if (!this.#table.has(key)) this.#watchers.delete(key);
  }

  /**
   * Delivers `message` to its next hop. Throws a typed error (to the local sender) for an
   * empty route, an unknown address or transport, or a delivery flow controls deny. A
   * denial is checked before existence, so a network peer cannot probe for addresses.
   *
   * Returns the mailbox the message went to (when known), so that the caller can wait for
   * room when it is full (`mailbox.isFull`, `mailbox.onRoom`) before feeding it again.
   *
   * With `lent`, the payload's bytes are the caller's again once this returns: a local hop's
   * mailbox that has `deliverLent` takes it that way (see `deliveredLent`).
   */
  route(message: LocalMessage, senderKey: string | undefined, lent = false): Mailbox | undefined {
    return this.#route(message, senderKey, lent, true);
  }

  /**
   * As `route`, except that a message it refuses from a producer (a connection, a channel: the
   * network) is dropped, reported as `route` reports it, and undefined returned instead of an
   * error thrown. For the readers of the network, which drop such messages anyway: a peer
   * decides how many there are, and a throw cost a drop as much as the rest of it. A local
   * sender's refusal still throws, as does an empty route.
   */
  routeOrDrop(message: LocalMessage, senderKey: string | undefined, lent = false): Mailbox | undefined {
    return this.#route(message, senderKey, lent, false);
  }

  #route(message: LocalMessage, senderKey: string | undefined, lent: boolean, throws: boolean): Mailbox | undefined {
    const next = message.onwardRoute.next();
    if (!next.isLocal) {
      const transport = this.#transports.get(next.type);
      if (!transport) {
        if (senderKey === undefined || !this.flowControls.isProducerKey(senderKey)) throw unknownTransportError(next);
        const error = this.#networkError("unknown-transport", next);
        this.#dropped(next, senderKey, "unknown-transport", error);
        if (throws) throw error;
        return undefined;
      }
      return transport(message, senderKey) ?? undefined;
    }
    const key = next.key;
    const flowControls = this.flowControls;
    if (!flowControls.isAllowed(senderKey, key)) {
      // Only a producer's messages are ever denied: the network sender is not told, the node
      // is — and told the truth: to an address nobody has, a denial is really a drop (and the
      // event's error says so, as a program reading its code expects). Without stacks: a
      // peer decides how many (see stackless).
      const error = this.#networkError("denied", next);
      const there = this.#table.get(key);
      // Expected, not reported: a tombstone's address, or a retired one's (their owners ended on purpose).
      if (there !== undefined) {
        if (there.tombstone !== true) this.#reporter?.denied(next, senderKey!);
      } else if (!this.#retired.has(key)) this.#dropped(next, senderKey!, "unknown-address", this.#networkError("unknown-address", next));
      if (throws) throw error;
      return undefined;
    }
    const mailbox = this.#table.get(key);
    if (!mailbox) {
      const gone = this.#goneReasons.get(key);
      // A program's send keeps the stack of its call; a peer's message is dropped without one.
      if (senderKey === undefined || !flowControls.isProducerKey(senderKey)) throw unknownAddressError(next, gone);
      const error = this.#networkError("unknown-address", next, gone);
      if (!this.#retired.has(key)) this.#dropped(next, senderKey, "unknown-address", error);
      if (throws) throw error;
      return undefined;
    }
    // Sending into a producer (a connection, a channel) lets its replies come back to the sender.
    if (senderKey !== undefined && !flowControls.isProducerKey(senderKey)) {
      const producer = flowControls.producerByKey(key);
      if (producer) flowControls.ensureConsumerKey(senderKey, producer.flowControlId);
    }
    deliverTo(mailbox, message, senderKey, lent);
    return mailbox;
  }

  /**
   * The mailbox `route` would deliver a message for the local address `next` from `senderKey`
   * to, when that is all it would do: undefined when it would throw, report or change flow
   * controls (the message must then be routed). Looks, changes nothing.
   */
  plainMailboxFor(next: Address, senderKey: string): Mailbox | undefined {
    if (!next.isLocal) return undefined;
    const key = next.key;
    const flowControls = this.flowControls;
    if (!flowControls.isAllowed(senderKey, key)) return undefined;
    if (!flowControls.isProducerKey(senderKey) && flowControls.producerByKey(key)) return undefined;
    return this.#table.get(key);
  }

  /** The keys of every registered local address (diagnostics and tests). */
  addresses(): string[] {
    return [...this.#table.keys()];
  }
}

/** Why a network message was dropped, as #networkError keeps its errors. */
type NetworkDrop = "denied" | "unknown-address" | "unknown-transport";

function unknownTransportError(next: Address): UnknownTransportError {
  return new UnknownTransportError(`No transport is registered for address ${next.toString()}`);
}

function unknownAddressError(next: Address, gone: string | undefined): UnknownAddressError {
  return new UnknownAddressError(`No worker has the address ${next.toString()}${gone === undefined ? "" : ` (it went away: ${gone})`}`);
}

/**
 * After `route(message, senderKey, true)` returned `mailbox`: true if the message went through
 * `mailbox.deliverLent` (nothing keeps a view of its payload), false if its bytes may be kept.
 */
export function deliveredLent(message: LocalMessage, mailbox: Mailbox | undefined): boolean {
  return mailbox?.deliverLent !== undefined && message.onwardRoute.next().isLocal;
}
