import {
  Address,
  FlowControls,
  HopwireError,
  KeyCounts,
  LocalMessage,
  route,
  StopOnce,
  TimeoutError,
  toAddress,
  type AddressLike,
  type FlowControlId,
  type Logger,
  type Mailbox,
  type Node,
  type Route,
  stackless,
} from "@hopwire/runtime";
import { ResponderHandshake } from "../handshake/responder-handshake.js";
import type { HandshakeAction } from "../handshake/types.js";
import { assertIdentity } from "../identity/identity-argument.js";
import type { Identity } from "../identity/identity.js";
import { ChannelEnd } from "../secure-channel/channel-end.js";
import { OuterKind } from "../secure-channel/channel-message.js";
import { assertRunningNode } from "../secure-channel/node-argument.js";
import { noiseStaticKeyFor } from "../secure-channel/noise-static-key.js";
import { SecureChannel } from "../secure-channel/secure-channel.js";
import { trackChannelEnd } from "../secure-channel/channel-registry.js";
import { SecureChannelListenerOptions } from "../secure-channel/secure-channel-options.js";
import { toSecureChannelListenerOptions, type SecureChannelListenerOptionsInit } from "../secure-channel/plain-options.js";
import { SecureChannelHandshakeError, SecureChannelTransportError } from "../secure-channel/channel-errors.js";
import { ChannelLimitError, ConnectionChannelLimitError, type SecureChannelError } from "../errors.js";
import { trustExpectation } from "../trust/trust-policy.js";
import { DEFAULT_HANDSHAKE_LIMITS, HandshakeSlots, queuedFirstMessageBytes } from "./handshake-limits.js";
import { startCryptoThreadsFor } from "../crypto-threads/crypto-threads.js";

/** Handshakes a listener runs at once by default (`withHandshakeLimits({ maxPending })`). */
export const MAX_PENDING_HANDSHAKES = DEFAULT_HANDSHAKE_LIMITS.maxPending;
/** How often idle per-connection limit state is forgotten, and at most how often drops are logged (ms). */
const HOUSEKEEPING_MS = 1_000;
const BUSY = new TextEncoder().encode("HANDSHAKE_BUSY");
const CHANNEL_LIMIT = new TextEncoder().encode("HANDSHAKE_CHANNEL_LIMIT");
const CONNECTION_CHANNEL_LIMIT = new TextEncoder().encode("HANDSHAKE_CONNECTION_CHANNEL_LIMIT");
/** Which channel limit a first message meets: the listener's (`maxChannels`) or its connection's (`maxChannelsPerConnection`). */
type ChannelLimit = "listener" | "connection";
/**
 * How long a connection whose first message was dropped (its queue was full) stops being read:
 * its flood waits in its own socket (TCP pushes back on the sender) instead of costing this
 * node a decode per frame. Short enough that message 3s on the same connection (which free
 * its slots) are read soon.
 */
export const REFUSED_CONNECTION_PAUSE_MS = 100;
/**
 * Handshakes started per event-loop turn at most (each costs a key generation and two DH
 * operations, ≈ 0.15 ms with the node provider); more wait for the next turn, so that I/O and
 * established channels are served in between.
 */
export const HANDSHAKE_STARTS_PER_TURN = 32;
/** A first message is a bare ephemeral key (Noise XX `-> e`, empty payload) after its kind byte. */
const MESSAGE1_LENGTH = 1 + 32;

/**
 * A first message waiting for its turn: only what the handshake needs of it later (its payload,
 * and its return route, the way back to the initiator), not the message. Its onward route is
 * the peer's to make, as long as a frame allows, and nothing reads it once the message is here.
 */
interface FirstMessage {
  readonly returnRoute: Route;
  readonly payload: Uint8Array;
  /** What it is charged against `maxQueuedBytesPerConnection` (queuedFirstMessageBytes). */
  readonly bytes: number;
  /** The peer behind its connection (see #peerOf): "" for a plain connection. */
  readonly peer: string;
}

const firstMessageBytes = (message: FirstMessage): number => message.bytes;
const firstMessagePeer = (message: FirstMessage): string => message.peer;

/**
 * Waits for handshakes at its address and spawns one responder channel end per initiator.
 * It is a flow-control spawner: messages decrypted by its channels are produced under
 * ids spawned from `flowControlId`, so `flowControls.addConsumer(worker, listener.flowControlId)`
 * makes a worker reachable through every channel it accepts.
 */
export class SecureChannelListener implements Mailbox {
  /** Where initiators send their first handshake message (the last hop of their route to this listener). */
  readonly address: Address;
  /**
   * The flow control id this listener spawns its channels' ids from: what the peers send
   * through channels it accepts is delivered only to workers that are consumers of it.
   * `node.flowControls.addConsumer("echo", listener.flowControlId)` lets them reach "echo".
   */
  readonly flowControlId: FlowControlId = FlowControls.generateId();
  readonly #node: Node;
  readonly #identity: Identity;
  readonly #options: SecureChannelListenerOptions;
  readonly #log: Logger;
  /**
   * Every end this listener holds (handshaking or open), with the connection it came in over
   * once it is open (undefined before): one table for both, not a Set of the ends and a Map of
   * the open ones (a table entry each, ≈ 40 B an open channel).
   */
  readonly #ends = new Map<ChannelEnd, string | undefined>();
  /** One SecureChannel per end, so that `channels` gives the same object for the same channel each time. */
  readonly #channelOf = new WeakMap<ChannelEnd, SecureChannel>();
  /** `onChannel` listeners. */
  readonly #onChannel = new Set<(channel: SecureChannel) => void>();
  /** The open channels: the ends in #ends that have their connection. */
  #openCount = 0;
  /** Open channels per connection (what `maxChannelsPerConnection` bounds, with the connection's started handshakes). */
  readonly #openVia = new KeyCounts();
  #refusedChannels = 0;
  readonly #stopOnce = new StopOnce(async () => this.#stop());
  readonly #slots: HandshakeSlots<ChannelEnd, FirstMessage>;
  #startScheduled = false;
  #droppedHandshakes = 0;
  /** Drops not yet logged, and when the last log line went out: one line per second at most. */
  #unloggedDrops = 0;
  #loggedAt = 0;
  #housekeeping: NodeJS.Timeout | undefined;
  /**
   * Set while the message just delivered was refused for its connection's share: the
   * connection that routed it reads `isFull` at once and pauses its socket until `onRoom`,
   * which calls back after `#pauseMs`. Cleared at the next delivery and at the end of the turn.
   */
  #pauseMs: number | undefined;
  #clearPauseScheduled = false;
  /** Paused connections' onRoom callbacks, by timer: a stopping listener lets them all read again. */
  readonly #pauseTimers = new Map<NodeJS.Timeout, () => void>();

  /** @internal use createSecureChannelListener */
  constructor(node: Node, identity: Identity, address: Address, options: SecureChannelListenerOptions) {
    this.#node = node;
    this.#identity = identity;
    this.address = address;
    this.#options = options;
    this.#log = node.log.child("secure-channel");
    this.#slots = new HandshakeSlots(options.handshakeLimits, firstMessageBytes, firstMessagePeer);
  }

  /** Forgets a closed end, and frees its channel slot: one function for all of them (a closure per end costs ≈ 0.1 KiB while it is open). */
  readonly #forget = (end: ChannelEnd): void => {
    const connection = this.#ends.get(end);
    this.#ends.delete(end);
    if (connection === undefined) return;
    this.#openCount--;
    this.#openVia.remove(connection);
  };

  /** Handshakes begun and not yet finished (each holds a responder end until message 3 or its timeout). */
  get pendingHandshakes(): number {
    return this.#slots.pending;
  }

  /** First handshake messages waiting for their connection's turn to start. */
  get queuedHandshakes(): number {
    return this.#slots.queued;
  }

  /**
   * @internal What the first messages waiting for their turn are charged, in bytes (each
   * connection's share is bounded by `handshakeLimits.maxQueuedBytesPerConnection`).
   */
  get queuedHandshakeBytes(): number {
    return this.#slots.queuedBytes;
  }

  /** First handshake messages dropped (malformed, over their connection's queue in messages or bytes, or evicted) so far. */
  get droppedHandshakes(): number {
    return this.#droppedHandshakes;
  }

  /** Channels this listener accepted that are still open or handshaking (what `maxChannels` bounds). */
  get channelCount(): number {
    return this.#ends.size;
  }

  /** Channels (open or handshaking) this listener holds at once at most; past it, handshakes are refused (HANDSHAKE_CHANNEL_LIMIT). */
  get maxChannels(): number {
    return this.#options.maxChannels;
  }

  /** Channels (open or handshaking) over one connection at most; past it, its handshakes are refused (HANDSHAKE_CONNECTION_CHANNEL_LIMIT). */
  get maxChannelsPerConnection(): number {
    return this.#options.maxChannelsPerConnection;
  }

  /**
   * Channels (open or handshaking) this listener holds that came in over the connection (the
   * first hop) `hop`: a TcpConnection (or its address), or a channel a relay's traffic comes
   * through. What `maxChannelsPerConnection` bounds.
   */
  channelsVia(hop: AddressLike | { readonly address: Address }): number {
    const key = (typeof hop === "object" && !(hop instanceof Address) ? hop.address : toAddress(hop)).key;
    return this.#openVia.get(key) + this.#slots.pendingOf(key);
  }

  /** Handshakes refused at their first message because the listener held `maxChannels`, or their connection `maxChannelsPerConnection`. */
  get refusedChannels(): number {
    return this.#refusedChannels;
  }

  /** The open channels this listener accepted, as seen from this (the responder's) end: the same object for a channel each time. */
  get channels(): SecureChannel[] {
    return [...this.#ends.keys()].filter((e) => e.state === "open").map((e) => this.#channelFor(e));
  }

  /**
   * Calls `listener` with each channel this listener accepts, as it opens (the responder's end:
   * `peerIdentifier`, `closed`, `close()`). One that throws is logged. Returns a remover.
   */
  onChannel(listener: (channel: SecureChannel) => void): () => void {
    this.#onChannel.add(listener);
    return () => void this.#onChannel.delete(listener);
  }

  #channelFor(end: ChannelEnd): SecureChannel {
    let channel = this.#channelOf.get(end);
    if (channel === undefined) this.#channelOf.set(end, (channel = new SecureChannel(end)));
    return channel;
  }

  #accepted(end: ChannelEnd): void {
    if (this.#onChannel.size === 0) return;
    const channel = this.#channelFor(end);
    for (const listener of this.#onChannel) {
      try {
        listener(channel);
      } catch (error) {
        this.#log.warn("an onChannel listener threw", error);
      }
    }
  }

  /** Takes a handshake message for this listener (called by the router). */
  /** True right after a first message was refused for its connection's share: that connection stops reading for a while. */
  get isFull(): boolean {
    return this.#pauseMs !== undefined;
  }

  /** Calls back once the refused connection may be read again (see REFUSED_CONNECTION_PAUSE_MS). */
  onRoom(callback: () => void): () => void {
    const timer = setTimeout(() => {
      this.#pauseTimers.delete(timer);
      callback();
    }, this.#pauseMs ?? 0);
    this.#pauseTimers.set(timer, callback);
    return () => {
      clearTimeout(timer);
      this.#pauseTimers.delete(timer);
    };
  }

  deliver(message: LocalMessage): void {
    this.#pauseMs = undefined;
    if (this.#stopOnce.started) return;
    if (message.payload[0] !== OuterKind.HANDSHAKE || message.returnRoute.length === 0) {
      this.#log.debug("listener dropped a message that is not a handshake");
      return;
    }
    if (message.payload.length !== MESSAGE1_LENGTH) {
      // Not a first message (a late or forged message 3, garbage): no DH work for it.
      this.#dropped("malformed");
      return;
    }
    // Half-open handshakes hold state until message 3 or their timeout, and each costs DH work:
    // first messages wait in their connection's queue (the first hop back, where the message
    // came in) and start in turn, a connection at a time (see HandshakeSlots).
    const hop = message.returnRoute.next();
    const now = performance.now();
    // The payload copied: a view would keep the whole socket read it came in alive while it waits.
    const returnRoute = message.returnRoute;
    const peer = this.#peerOf(hop, returnRoute);
    const queued: FirstMessage = { returnRoute, payload: message.payload.slice(), bytes: queuedFirstMessageBytes(returnRoute, MESSAGE1_LENGTH), peer };
    const direct = peer === "";
    const watch = () => this.#node.router.watchHop(hop, () => this.#connectionGone(hop.key));
    this.#scheduleHousekeeping();
    // Open channels alone fill the listener's or the connection's allowance: refused now, without
    // queueing, and the connection waits a while, as for a full queue. (Started handshakes count
    // too, when the message's turn comes: see #startHandshakes.)
    const limit = this.#channelLimitFor(hop.key, false);
    if (limit !== undefined) {
      this.#refuseForLimit(message, hop.key, limit, now, watch, peer);
      this.#pauseFeeder(direct);
      return;
    }
    const displaced = this.#slots.displaced;
    if (!this.#slots.offer(hop.key, queued, now, watch)) {
      this.#dropped("its connection's queue is full, in messages or bytes");
      if (this.#slots.mayRefuse(hop.key, now, undefined, peer)) this.#refuse(message, BUSY);
      this.#pauseFeeder(direct);
      return;
    }
    if (this.#slots.displaced !== displaced) this.#dropped("another peer behind its connection held more of its queue");
    this.#scheduleStarts();
  }

  /**
   * The peer a first message came from behind its connection (HandshakeSlots shares a
   * connection fairly between its peers): when its first hop back is a secure channel (a node
   * behind a relay gets every relayed handshake through its one channel to the relay node),
   * the next hop, which the relay node set (the initiator's own connection there); else "",
   * one peer. Whoever writes that hop may make up as many as it likes: they share one
   * connection's bounds.
   */
  #peerOf(hop: Address, returnRoute: Route): string {
    if (returnRoute.length < 2 || this.#node.router.mailboxOf(hop)?.kind !== "secure channel") return "";
    return returnRoute.at(1)!.key;
  }

  #scheduleStarts(): void {
    if (this.#startScheduled || this.#stopOnce.started) return;
    this.#startScheduled = true;
    setImmediate(this.#startHandshakes);
  }

  /** Starts queued handshakes in round-robin order, at most HANDSHAKE_STARTS_PER_TURN per turn. */
  readonly #startHandshakes = (): void => {
    this.#startScheduled = false;
    if (this.#stopOnce.started) return;
    for (let i = 0; i < HANDSHAKE_STARTS_PER_TURN; i++) {
      const start = this.#slots.next(this.#atChannelLimit);
      if (start === undefined) return; // nothing may start until a slot frees (release schedules again)
      if (start.refused) {
        // Before any DH work: its channel would take the listener or its connection past a limit.
        this.#refuseForLimit(start.message, start.connection, this.#channelLimitFor(start.connection, true) ?? "listener", performance.now(), undefined, start.peer);
        continue;
      }
      if (start.evict) this.#evict(start.evict.item, start.evict.connection);
      // #respond fails its own handshake on any error; nothing a peer sends may reject out of it
      // (an unhandled rejection ends the process), so this catch is the last line only.
      this.#respond(start.message, start.connection, start.peer).catch(this.#respondFailed);
    }
    this.#scheduleStarts();
  };

  /** True if a handshake from `connection` started now would take the listener or the connection past a channel limit. */
  readonly #atChannelLimit = (connection: string): boolean => this.#channelLimitFor(connection, true) !== undefined;

  /**
   * The channel limit a new handshake from `connection` meets, if any: the listener's open
   * channels, and with `started` its started handshakes too (each is a channel one round trip
   * later), against `maxChannels`; then the same for the connection against `maxChannelsPerConnection`.
   */
  #channelLimitFor(connection: string, started: boolean): ChannelLimit | undefined {
    const options = this.#options;
    if (this.#openCount + (started ? this.#slots.pending : 0) >= options.maxChannels) return "listener";
    if (this.#openVia.get(connection) + (started ? this.#slots.pendingOf(connection) : 0) >= options.maxChannelsPerConnection) return "connection";
    return undefined;
  }

  /**
   * Refuses a first message for a channel limit, before any DH work: counted, a REFUSED notice
   * with the limit's code within the connection's refusal budget, and the node's "refused"
   * event and rate-limited warning naming the setting.
   */
  #refuseForLimit(message: { readonly returnRoute: Route }, connection: string, limit: ChannelLimit, now: number, watch?: () => () => void, peer = ""): void {
    this.#refusedChannels++;
    const listener = this.address.toString();
    // Without a stack trace: a flood of refused first messages makes one each.
    const error =
      limit === "listener"
        ? stackless(() => new ChannelLimitError(`The listener "${listener}" holds its maximum of ${this.#options.maxChannels} secure channels (maxChannels)`))
        : stackless(
            () =>
              new ConnectionChannelLimitError(
                `The listener "${listener}" holds its maximum of ${this.#options.maxChannelsPerConnection} secure channels over ${connection} (maxChannelsPerConnection)`,
              ),
          );
    if (this.#slots.mayRefuse(connection, now, watch, peer)) this.#refuse(message, limit === "listener" ? CHANNEL_LIMIT : CONNECTION_CHANNEL_LIMIT);
    this.#reportRefused(error, error.code, connection);
  }

  readonly #respondFailed = (error: unknown): void => {
    this.#log.debug("a handshake failed outside its own error handling", error);
  };

  /** A started handshake gives up its slot to a connection that holds fewer. */
  #evict(evicted: ChannelEnd, connection: string): void {
    this.#dropped("evicted");
    try {
      if (this.#slots.mayRefuse(connection, performance.now())) evicted.sendOuter(OuterKind.REFUSED, BUSY); // its initiator fails fast
    } catch {
      // the route back is gone; nothing to tell
    }
    evicted.close(new SecureChannelHandshakeError("The listener is full; the handshake gave its slot to another connection"), false);
  }

  /** The connection handshakes came in on went away: their slots are free now, not at their timeout. */
  #connectionGone(key: string): void {
    for (const end of this.#slots.dropConnection(key)) {
      end.close(new SecureChannelTransportError("The connection the handshake came in on closed"), false);
    }
  }

  /**
   * Asks whoever routed the message just refused (a connection reads `isFull`) to wait
   * REFUSED_CONNECTION_PAUSE_MS; only for this turn. Only a `direct` feeder, the refused
   * connection itself: a secure channel that feeds relayed handshakes carries every relayed
   * peer's traffic, and pausing it for one flooding peer held up the others.
   */
  #pauseFeeder(direct: boolean): void {
    if (!direct) return;
    this.#pauseMs = REFUSED_CONNECTION_PAUSE_MS;
    if (this.#clearPauseScheduled) return;
    this.#clearPauseScheduled = true;
    setImmediate(() => {
      this.#clearPauseScheduled = false;
      this.#pauseMs = undefined;
    });
  }

  /** Counts a dropped first message; logs at most one line per second, with the count since the last. */
  #dropped(why: string): void {
    this.#droppedHandshakes++;
    this.#unloggedDrops++;
    const now = performance.now();
    if (now - this.#loggedAt < HOUSEKEEPING_MS) return;
    this.#log.warn(`listener ${this.address.toString()} dropped ${this.#unloggedDrops} handshake(s) (last: ${why}); see handshakeLimits`);
    this.#unloggedDrops = 0;
    this.#loggedAt = now;
  }

  /** Sends a plaintext REFUSED notice back along the message's return route. */
  #refuse(message: { readonly returnRoute: Route }, code: Uint8Array): void {
    try {
      const body = new Uint8Array(code.length + 1);
      body[0] = OuterKind.REFUSED;
      body.set(code, 1);
      this.#node.router.route(new LocalMessage(message.returnRoute, route(this.address), body), this.address.key);
    } catch {
      // the route back is gone; nothing to tell
    }
  }

  /** Forgets idle per-connection state once a second while there is any. */
  #scheduleHousekeeping(): void {
    if (this.#housekeeping !== undefined || this.#stopOnce.started) return;
    this.#housekeeping = setTimeout(() => {
      this.#housekeeping = undefined;
      this.#slots.prune(performance.now());
      if (this.#slots.connections > 0) this.#scheduleHousekeeping();
    }, HOUSEKEEPING_MS);
    this.#housekeeping.unref();
  }

  async #respond(message1: FirstMessage, connection: string, peer: string): Promise<void> {
    const node = this.#node;
    const options = this.#options;
    const end = new ChannelEnd(node, "responder", options, FlowControls.generateId(), message1.returnRoute);
    this.#slots.add(connection, end, peer);
    for (const id of options.consumerOf) node.flowControls.addConsumer(end.remoteAddress, id);
    trackChannelEnd(node, end);
    this.#ends.set(end, undefined);
    end.onClosed(this.#forget);
    let handshake: ResponderHandshake | undefined;
    /** True while the handshake reads the peer's messages: what fails there is this listener refusing the peer. */
    let checking = false;
    try {
      // Inside the try: whatever fails here (the identity and provider were checked when the
      // listener was made, but a provider's key generation may still throw) fails this
      // handshake only. Outside, it rejected #respond and ended the process.
      handshake = new ResponderHandshake({
        identity: this.#identity,
        trustPolicy: options.trustPolicy,
        trustPolicyTimeoutMs: options.handshakeTimeout,
        provider: options.provider,
        noiseStaticKeyPair: noiseStaticKeyFor(this.#identity, options.provider),
      });
      checking = true;
      const reply = await handshake.handle({ type: "message", message: message1.payload.subarray(1) });
      checking = false;
      sendAll(end, reply); // <- e, ee, s, es
      const message3 = await end.nextHandshakeMessage();
      if (message3.payload[0] !== OuterKind.HANDSHAKE) throw new SecureChannelHandshakeError("the initiator gave up the handshake");
      checking = true;
      const actions = await handshake.handle({ type: "message", message: message3.payload.subarray(1) }); // -> s, se
      checking = false;
      const done = actions.find((a) => a.type === "complete");
      if (!done || done.type !== "complete") throw new SecureChannelHandshakeError("the handshake did not complete");
      end.establish(done.result);
      end.open(this.flowControlId);
      if (end.state === "open") {
        // Its channel slot, held from the handshake's start (as a pending handshake), is an open channel's now, until it closes.
        this.#ends.set(end, connection);
        this.#openCount++;
        this.#openVia.add(connection);
        this.#accepted(end);
      }
      if (this.#log.enabled) this.#log.debug(`accepted a secure channel from ${done.result.peerIdentifier}`); // no string per handshake when silent
    } catch (thrown) {
      handshake?.dispose(); // its key copies are wiped now, whatever stopped it
      const code = (thrown as { code?: unknown } | null)?.code;
      // A typed error whatever was thrown (a TypeError from a bad key, a provider's own error).
      const error = thrown instanceof HopwireError ? thrown : new SecureChannelHandshakeError(`The responder could not run the handshake: ${messageOf(thrown)}`, { cause: thrown });
      this.#log.debug("refused a secure channel", error);
      // The peer's handshake failed a check here (not a timeout, a close or the initiator giving
      // up): the node's "refused" event and a rate-limited warning say so without DEBUG.
      if (checking) this.#reportRefused(error, typeof code === "string" ? code : "HANDSHAKE_FAILED", connection);
      // Refusals are rate-limited per connection: a flood of bad handshakes gets silence.
      try {
        if (end.state === "handshaking" && this.#slots.mayRefuse(connection, performance.now())) {
          end.sendOuter(OuterKind.REFUSED, new TextEncoder().encode(typeof code === "string" ? code : "HANDSHAKE_FAILED"));
        }
      } catch {
        // the route back is gone; nothing to tell
      }
      end.close(error, false);
    } finally {
      this.#slots.release(connection, end);
      if (this.#slots.queued > 0) this.#scheduleStarts();
    }
  }

  /**
   * Reports a refused handshake to the node (router.reportRefused): a "refused" event each
   * time, a warning line per reason at most once a minute. It names the listener, the peer's
   * identifier when the refusal came after its signature verified (identifiers are public),
   * else the connection it came through; never a key or a payload.
   */
  #reportRefused(error: Error, reason: string, via: string): void {
    const identifier = (error as SecureChannelError).identifier;
    const event = { listener: this.address.key, what: "a secure channel", peer: identifier, via, reason, error };
    this.#node.router.reportRefused(event, () => this.#whyRefused(error, reason));
  }

  /** The warning's words for a refusal: what failed, and what to change when it is this side's to change. */
  #whyRefused(error: Error, reason: string): string {
    const refused = `the initiator gets SecureChannelRefusedError (reason ${reason})`;
    switch (reason) {
      case "HANDSHAKE_UNTRUSTED_IDENTITY": {
        const expected = trustExpectation(this.#options.trustPolicy);
        return (
          `its identity is not trusted (trust policy: ${expected ?? "a custom one, which did not return true"}). ` +
          `If it should be, add its identifier to the listener's trustPolicy (e.g. trustIdentifiers([...])); ${refused}.`
        );
      }
      case "TRUST_POLICY_FAILED": {
        const cause = error.cause instanceof Error ? `${error.cause.name}: ${error.cause.message}` : String(error.cause);
        if (error.cause instanceof TimeoutError) return `the listener's trust policy did not answer (${cause}), which refuses; ${refused}.`;
        return `the listener's trust policy threw (${cause}), which refuses; ${refused}.`;
      }
      case "HANDSHAKE_BAD_SIGNATURE":
        return `its identity signature over its Noise static key does not verify (a forged or corrupted handshake); ${refused}.`;
      case "HANDSHAKE_CHANNEL_LIMIT":
        return (
          `the listener holds its maximum of ${this.#options.maxChannels} channels, open or handshaking (maxChannels); the handshake is refused at its first message, and a channel that closes frees its slot. ` +
          `Raise maxChannels if the load is real, or find who holds them (listener.channels; each is closed by its peer, by its peer going silent, or by listener.stop()); ${refused}.`
        );
      case "HANDSHAKE_CONNECTION_CHANNEL_LIMIT":
        return (
          `the listener holds its maximum of ${this.#options.maxChannelsPerConnection} channels, open or handshaking, over that connection (maxChannelsPerConnection); the handshake is refused at its first message, and a channel that closes frees its slot. ` +
          `Raise maxChannelsPerConnection if one connection carries that many for good reason (a node behind a relay gets all its clients' channels over its one connection to the relay); ${refused}.`
        );
      default:
        return `its handshake failed here: ${error.name}: ${error.message}; ${refused}.`;
    }
  }

  /** @internal createSecureChannelListener: the node's stop stops this listener, and the listener's own stop removes that hook. */
  stopWithNode(): void {
    this.#stopOnce.hookTo(this.#node);
  }

  /** Stops accepting handshakes and closes every channel this listener accepted; every call gets the first one's promise. */
  stop(): Promise<void> {
    // Stopped from the first call on: what #stop wakes (paused connections delivering, ended handshakes scheduling starts) must see it.
    return this.#stopOnce.stop();
  }

  /** Lets paused connections read again, drops queued handshakes, leaves the router, closes every end. */
  #stop(): void {
    if (this.#housekeeping !== undefined) clearTimeout(this.#housekeeping);
    for (const [timer, callback] of this.#pauseTimers) {
      clearTimeout(timer);
      callback();
    }
    this.#pauseTimers.clear();
    this.#pauseMs = undefined;
    this.#slots.clear();
    this.#node.router.unregister([this.address]);
    // No end counts as open any more: closing each below frees no slot.
    for (const end of this.#ends.keys()) this.#ends.set(end, undefined);
    this.#openCount = 0;
    this.#openVia.clear();
    for (const end of [...this.#ends.keys()]) end.close();
    // The flow its channels were spawned under ends with it: its consumers (every worker a
    // program let its channels reach) would otherwise keep an entry each, and the node the
    // flow's set, for every listener that ever stopped (each closed channel removes only its own flow).
    this.#node.flowControls.removeFlow(this.flowControlId);
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function sendAll(end: ChannelEnd, actions: readonly HandshakeAction[]): void {
  for (const action of actions) if (action.type === "send") end.sendOuter(OuterKind.HANDSHAKE, action.message);
}

/**
 * Starts a secure channel listener at `address` (e.g. "bob_listener"). Options are a
 * SecureChannelListenerOptions or a plain object (SecureChannelListenerOptionsInit:
 * `{ consumerOf, trustPolicy, ... }`). A `node` or `identity` that is none (missing,
 * swapped, an exported identity not yet imported) rejects with InvalidOptionError, before
 * the listener exists.
 */
export async function createSecureChannelListener(
  node: Node,
  identity: Identity,
  address: AddressLike,
  given?: SecureChannelListenerOptions | SecureChannelListenerOptionsInit,
): Promise<SecureChannelListener> {
  const name = { what: "createSecureChannelListener", usage: "createSecureChannelListener(node, identity, address, options?)" };
  assertRunningNode(node, name);
  assertIdentity(identity, name);
  const options = toSecureChannelListenerOptions(given);
  // Its crypto threads start now, not inside the first handshakes' windows (a thread's start
  // costs ~0.15 s of CPU: on a starved machine it made a responder's CONFIRM miss its window).
  await startCryptoThreadsFor(node, options);
  assertRunningNode(node, name);
  const listener = new SecureChannelListener(node, identity, toAddress(address), options);
  node.router.register([listener.address], listener);
  node.flowControls.addSpawner(listener.address, listener.flowControlId);
  for (const id of options.consumerOf) node.flowControls.addConsumer(listener.address, id);
  listener.stopWithNode();
  return listener;
}
