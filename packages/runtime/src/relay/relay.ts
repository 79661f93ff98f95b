import { toAddress, type Address, type AddressLike } from "../address/address.js";
import { InvalidOptionError, InvalidRouteError, NodeStoppedError } from "../errors/errors.js";
import { checkOptionKeys, isOptionsObject, notAnOptionsObjectError, optionKeys } from "../options/plain-options.js";
import { describeValue } from "../util/describe-type.js";
import type { FlowControls } from "../flow-control/flow-controls.js";
import type { LocalMessage } from "../message/local-message.js";
import type { MessageRun } from "../message/message-run.js";
import type { Node } from "../node/node.js";
import { assertNodeArgument } from "../node/node-argument.js";
import { route, type Route, type RouteLike } from "../route/route.js";
import type { Mailbox } from "../router/mailbox.js";
import type { Router } from "../router/router.js";
import { RouteMemo } from "../router/route-memo.js";
import { grantForRelay, releaseForRelay } from "./relay-grants.js";

/** Options of a built-in relay. */
export interface RelayOptions {
  /**
   * Open the flow controls a relay between two transports needs, once per previous hop,
   * as the hello Relay does (default true): what comes back through the next hop may
   * reach the previous hop, and what came from the previous hop may reach the next.
   */
  openFlowControls?: boolean;
  /**
   * Called with the return route of a message the relay passes on, once per return route
   * object (a stream's messages share theirs): who feeds the relay. The relay service hands
   * it to the TCP transport, which cannot see it behind the registrant's secure channel
   * (`TcpConnection.noteFedBy`, the next-hop rule).
   */
  onForward?: (returnRoute: Route) => void;
}

const RELAY_OPTIONS = optionKeys<RelayOptions>({ openFlowControls: true, onForward: true });

/**
 * Starts a relay at `address` that forwards every message to the fixed route `to`,
 * keeping its return route (Ockam's `forward_to_bob`). It is a mailbox on the router, on
 * the main thread: no worker, no thread, no decode and no copy of the payload. The `Relay`
 * worker class does the same as a worker (the guide's version, to copy or extend).
 */
export async function startRelay(node: Node, address: AddressLike, to: RouteLike, options: RelayOptions = {}): Promise<RelayMailbox> {
  assertNodeArgument(node, { what: "startRelay", runs: "relays" });
  if (node.stopped) throw new NodeStoppedError("Cannot start a relay on a stopped node");
  if (!isOptionsObject(options)) throw notAnOptionsObjectError("relay options must be an object", options);
  if (to === undefined) throw new InvalidRouteError("startRelay(node, address, to) needs `to`, the route the relay forwards to");
  checkOptionKeys(options, RELAY_OPTIONS, "startRelay options");
  if (options.openFlowControls !== undefined && typeof options.openFlowControls !== "boolean") {
    throw new InvalidOptionError(`openFlowControls must be a boolean, got ${describeValue(options.openFlowControls)}`, { option: "openFlowControls" });
  }
  if (options.onForward !== undefined && typeof options.onForward !== "function") {
    throw new InvalidOptionError(`onForward must be a function, got ${typeof options.onForward}`, { option: "onForward" });
  }
  const relay = new RelayMailbox(node.router, node.flowControls, toAddress(address), route(to), options.openFlowControls ?? true, options.onForward);
  node.router.register([relay.address], relay);
  relay.stopWithNode(node);
  return relay;
}

/**
 * The relay `startRelay` starts: a mailbox, not a worker (for the guide's Relay worker see
 * `Relay`). On delivery it pops itself off the onward route, puts `to` in
 * front and routes the message again, synchronously, with the same payload view. It is
 * full while its next hop's mailbox is, so a connection that feeds it stops reading
 * while the connection it feeds is full: the inbound side waits for the outbound side.
 */
export class RelayMailbox implements Mailbox {
  readonly #router: Router;
  readonly #flowControls: FlowControls | undefined;
  readonly #onForward: ((returnRoute: Route) => void) | undefined;
  /** Whether return routes are looked at (flows to open, or onForward to call): a run then needs the last message's. */
  readonly #watchesBack: boolean;
  readonly #key: string;
  readonly #firstHop: Address;
  /**
   * Previous hops whose flow controls are open (one lookup each, not one per message), each
   * with the end of its watch: forgotten when the hop goes away, as every connection a relay
   * node accepted does, or the set would grow by one entry per connection for ever.
   */
  readonly #opened = new Map<string, OpenedHop>();
  /** The mailbox the last message went to: where `isFull` looks. */
  #next: Mailbox | undefined;
  /** Routes as the relay; its messages share their next hop, so most go straight to its mailbox. */
  readonly #memo: RouteMemo;
  /** Routes decoded from repeated frame heads are the same objects: rewrite each once. */
  #lastIn: Route | undefined;
  #lastOut: Route | undefined;
  #lastBack: Route | undefined;
  #relayed = 0;
  /** A flag, not a StopOnce: this stop is synchronous and returns nothing, so there is no promise to share, and its hook can go at once. */
  #stopped = false;

  /** Removes the node's stop hook that stops this relay: its own stop calls it, or the node would hold the relay until it stops. */
  #removeStopHook: (() => void) | undefined;

  /** @internal use startRelay */
  constructor(
    router: Router,
    flowControls: FlowControls,
    readonly address: Address,
    readonly to: Route,
    openFlowControls: boolean,
    onForward?: (returnRoute: Route) => void,
  ) {
    if (!address.isLocal) throw new InvalidRouteError(`A relay's address must be local, got ${address.toString()}`);
    this.#router = router;
    this.#flowControls = openFlowControls ? flowControls : undefined;
    this.#onForward = onForward;
    this.#watchesBack = openFlowControls || onForward !== undefined;
    this.#key = address.key;
    this.#memo = new RouteMemo(router, this.#key);
    this.#firstHop = to.next(); // an empty route is an error now, not at the first message
  }

  /**
   * Messages sent to this relay's address and passed on so far. Replies, and a secure
   * channel's traffic after its first handshake message, follow return routes that name the
   * connections rather than the relay: they cross the middle node without passing here.
   */
  get relayed(): number {
    return this.#relayed;
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  /** @internal Previous hops it remembers as open (tests: bounded by the hops that exist). */
  get openedHops(): number {
    return this.#opened.size;
  }

  /** Rewrites the route and passes the payload on, undecoded (called by the router). */
  deliver(message: LocalMessage): void {
    const out = this.#rewrite(message.onwardRoute);
    // A stream's messages share their return route object: its flows were opened for the first.
    const back = message.returnRoute;
    // Until its flows are open (see OpenedHops), a return route is looked at again.
    if (this.#watchesBack && back !== this.#lastBack && this.#lookedAt(back)) this.#lastBack = back;
    // Routed as the relay itself, like a worker's forward: a denial or an unknown next hop
    // is thrown to whoever delivered here (a connection drops and logs it).
    try {
      this.#next = this.#memo.route(message.withOnwardRoute(out));
    } catch (error) {
      // Whoever fed the relay (usually a connection) drops the message quietly: the node says so.
      this.#router.reportDropped(out.next(), this.#key, error);
      throw error;
    }
    this.#relayed++;
  }

  /**
   * Passes a run of a stream's messages on in one call, when the message before it took the
   * same way: its flows are open and the next hop's mailbox is known and takes runs. Else
   * false, and each message comes through `deliver`.
   */
  deliverRun(run: MessageRun): boolean {
    if (this.#watchesBack && run.returnRoute !== this.#lastBack) return false;
    const out = this.#rewrite(run.onwardRoute);
    const next = this.#memo.peek(out.next());
    if (next?.deliverRun === undefined || !next.deliverRun(run.withOnwardRoute(out))) return false;
    this.#next = next;
    this.#relayed += run.count;
    return true;
  }

  /** The onward route without this relay, behind `to` (routes decoded from repeated heads are the same objects: rewritten once). */
  #rewrite(onward: Route): Route {
    let out = this.#lastOut;
    if (onward !== this.#lastIn || out === undefined) {
      out = onward.popFront().prepend(this.to);
      this.#lastIn = onward;
      this.#lastOut = out;
    }
    return out;
  }

  /** Full while the next hop's mailbox is. */
  get isFull(): boolean {
    return this.#nextMailbox()?.isFull === true;
  }

  onRoom(callback: () => void): () => void {
    const next = this.#nextMailbox();
    if (next?.onRoom === undefined || next.isFull !== true) {
      queueMicrotask(callback);
      return noop;
    }
    return next.onRoom(callback);
  }

  /** @internal startRelay: the node's stop stops this relay, and the relay's own stop removes that hook. */
  stopWithNode(node: Node): void {
    this.#removeStopHook = node.onStop(() => this.stop());
  }

  /** Leaves the router; messages to its address then get UnknownAddressError. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#removeStopHook?.();
    this.#removeStopHook = undefined;
    this.#router.unregister([this.address]);
    this.#next = undefined;
    // What this relay opened goes with it: a peer that used it must not keep addressing the next
    // hop directly (nor the next hop's peer the previous hop) once the relay is stopped.
    for (const opened of this.#opened.values()) {
      this.#router.unwatchHop(opened.previous, opened);
      this.#release(opened);
    }
    this.#opened.clear();
  }

  toString(): string {
    return `RelayMailbox(${this.address.toString()} -> ${this.to.toString()})`;
  }

  #nextMailbox(): Mailbox | undefined {
    return this.#next ?? this.#router.mailboxOf(this.#firstHop);
  }

  /** A return route not seen just before: its flows opened, onForward told; false to look at it again with the next message. */
  #lookedAt(back: Route): boolean {
    if (this.#flowControls && !this.#openFlows(back.at(0))) return false;
    this.#onForward?.(back);
    return true;
  }

  /**
   * Opens the flows between `previous` and the next hop, once; false (to be asked again with
   * the next message) while the next hop is not there. A connection that is reconnecting is
   * neither on the router nor a producer until its new socket is attached: had a previous
   * hop first seen then counted as open, replies would never reach it afterwards.
   */
  #openFlows(previous: Address | undefined): boolean {
    if (previous === undefined || this.#opened.has(previous.key)) return true;
    // Nothing registered there (no local worker or connection) can be replied to, nor be forgotten when it goes: nothing to open.
    if (!previous.isLocal || !this.#router.has(previous)) return true;
    const next = this.#firstHop;
    if (this.#router.mailboxOf(next) === undefined) return false;
    const flowControls = this.#flowControls!;
    const nextFlow = flowControls.findFlowControlWithProducerAddress(next)?.flowControlId;
    const previousFlow = flowControls.findFlowControlWithProducerAddress(previous)?.flowControlId;
    const opened: OpenedHop = {
      previous,
      nextFlow: nextFlow !== undefined && grantForRelay(flowControls, previous, nextFlow) ? nextFlow : undefined,
      previousFlow: previousFlow !== undefined && grantForRelay(flowControls, next, previousFlow) ? previousFlow : undefined,
      hopGone: () => {
        this.#opened.delete(previous.key);
        this.#release(opened);
      },
    };
    this.#opened.set(previous.key, opened);
    this.#router.watchHop(previous, opened);
    return true;
  }

  /** Gives back what this relay granted for `opened` (the last relay holding a grant withdraws it). */
  #release(opened: OpenedHop): void {
    const flowControls = this.#flowControls;
    if (flowControls === undefined) return;
    if (opened.nextFlow !== undefined) releaseForRelay(flowControls, opened.previous, opened.nextFlow);
    if (opened.previousFlow !== undefined) releaseForRelay(flowControls, this.#firstHop, opened.previousFlow);
  }
}

/**
 * A previous hop whose flows a relay opened, and the router's watch on it (its hopGone gives
 * the grants back and forgets the hop), with what the relay granted for it: withdrawn at stop,
 * or when the hop goes, once no other relay holds them.
 */
interface OpenedHop {
  readonly previous: Address;
  /** The next hop's flow, if the relay holds a grant of it to `previous`. */
  readonly nextFlow: string | undefined;
  /** The previous hop's flow, if the relay holds a grant of it to the next hop. */
  readonly previousFlow: string | undefined;
  readonly hopGone: () => void;
}

function noop(): void {}
