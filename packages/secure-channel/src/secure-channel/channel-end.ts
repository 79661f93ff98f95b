import {
  Address,
  afterTurnEnd,
  atTurnEnd,
  bytesBodyLength,
  encodeEnvelopeHead,
  FORWARDER_PREFIX,
  EnvelopeHeadDecoder,
  keptHeadCost,
  LocalMessage,
  NO_LOCAL_INFO,
  Route,
  route,
  REPEATED_HEAD,
  MAX_TIMEOUT_MS,
  RouteMemo,
  waitFor,
  type FlowControlId,
  type LocalInfo,
  type Logger,
  type Mailbox,
  type MailboxBound,
  type Node,
  type WaitOptions,
  stackless,
} from "@hopwire/runtime";
import type { DropReason } from "../channel/transport-cipher.js";
import { InlineChannelCipher, type ChannelCipher, type ChannelCipherSink } from "../crypto-threads/channel-cipher.js";
import { CryptoThreads } from "../crypto-threads/crypto-threads.js";
import { cryptoThreadsOn } from "../crypto-threads/policy.js";
import type { HandshakeResult } from "../handshake/types.js";
import type { Identifier } from "../identity/identifier.js";
import { InnerKind, OuterKind, withKind } from "./channel-message.js";
import {
  CloseReason,
  SecureChannelClosedByPeerError,
  SecureChannelClosedError,
  SecureChannelCreditExceededError,
  SecureChannelMessageTooLargeError,
  SecureChannelPeerGoneError,
  SecureChannelPeerStalledError,
  SecureChannelTransportError,
  releaseStackFrames,
} from "./channel-errors.js";
import { forgetChannelEnd, rememberClosedEncryptor } from "./channel-registry.js";
import { CHANNEL_KEPT_HEAD_BYTES, CHANNEL_MAX_HEAD_COST, channelKeptHeadsOf } from "./kept-heads.js";
import { decodeHeartbeat, encodeHeartbeat, keepaliveEvery } from "./liveness.js";
import { HEARTBEAT_BUDGET_EXEMPT_MS, heartbeatBudgetOf, type HeartbeatBudget } from "./heartbeat-budget.js";
import { sendQueueBudgetOf } from "./send-queue-budget.js";
import { SHARED_HOLD_BYTES, SHARED_HOLD_PER_FEEDER_BYTES, SHARED_HOLD_STALL_SHARE, SharedHold } from "./shared-hold.js";
import { livenessTimers, type LivenessHolder } from "./liveness-timers.js";
import { decodeCredit, encodeCredit, ReceiveCredit, SendCredit } from "./credit.js";
import { EncryptorQueue, PAYLOAD_LENGTH_BYTES } from "./encryptor-queue.js";
import { release } from "./staging.js";
import { forEachControl, openingBody } from "./control-records.js";
import { scheduleSparesWith } from "../crypto/spare-ciphers.js";
import { SECURE_CHANNEL_IDENTIFIER } from "./local-info.js";
import { RecentlyUsed } from "../recently-used.js";
import { concatBytes } from "../bytes.js";
import { PlaintextPieces } from "./plaintext-pieces.js";
import type { SecureChannelOptions, SecureChannelListenerOptions } from "./secure-channel-options.js";

type Options = SecureChannelOptions | SecureChannelListenerOptions;

const EMPTY = new Uint8Array(0);

// Channel ends run on a node's thread: spare ciphers are made right after its end-of-turn pass (crypto/spare-ciphers.ts).
scheduleSparesWith(afterTurnEnd);

/** The reasons of ordinary closes, made only if someone asks (see CloseReason). */
const CLOSED_LOCALLY = (): Error => new SecureChannelClosedError();
/** What a send into a channel whose graceful close began gets (ChannelEnd.stopAdmitting). */
const closingError = (): SecureChannelClosedError =>
  new SecureChannelClosedError("The secure channel is closing: close() was called, and it takes no new messages");
const CLOSED_BY_PEER = (): Error => new SecureChannelClosedByPeerError();

/**
 * Payloads up to 17 KiB (a 16 KiB body with its encoding) are coalesced; larger ones are sealed
 * alone, from their parts. A record's fixed cost (≈ 7 µs a side, below) was ≈ 15 % of a 16 KiB
 * message's CPU when each went alone, and 4 KiB messages went at 0.4-0.7× the rate of records
 * holding several (session 13); at 64 KiB coalescing made no difference.
 */
const COALESCE_MAX_PAYLOAD = 17 * 1024;
/** A sealed TRANSPORT payload: one buffer, or pieces sent one after the other (ChannelCipherSink.sealed). */
type SealedRecord = Uint8Array | readonly Uint8Array[];

/**
 * How much a coalesced record holds. Every record costs a fixed ≈ 7 µs on each side however
 * small (node:crypto's cipher object, its final and tag, and the weak handle that frees it at
 * the next scavenge), so a record should carry many messages; but the cipher's output is a
 * fresh buffer the size of the record, and from about 96 KiB on they came from fresh pages on
 * this host (glibc's mmap threshold is 128 KiB): at 1 KiB, 0.08-0.19 page faults per message
 * on the sender against 0.01-0.02 with 64 KiB records, and 12 % more CPU per message. So a
 * record takes no more at 64 KiB once it holds at least 8 messages (1/8 of the fixed cost each
 * at most), and at 128 KiB in any case: 16 KiB messages go 7 to a record, at 7-9 % more msg/s
 * than 4 to a record of 64 KiB. Channel probe, 4-6 interleaved runs per variant, session 13;
 * before it records held at most 32 KiB of messages up to 2 KiB. (When a record is sealed, and
 * when what is queued goes as one: RECORD_WHOLE_QUEUE_MAX_BYTES.)
 */
const RECORD_TARGET_BYTES = 64 * 1024;
const RECORD_MIN_MESSAGES = 8;
const RECORD_MAX_BYTES = 128 * 1024;
/**
 * Up to this much queued plaintext is sealed as one record, however many messages: a turn
 * that queued a little more than RECORD_TARGET_BYTES (a sender writing ~64 KiB of 1 KiB
 * messages a turn) made a full record and a record of one or two messages, each with its
 * fixed cost on both sides, and the small one in a second write. Below the ≈ 96 KiB from
 * which records came from fresh pages (above). Session 52, channel probe at 1 KiB, five
 * interleaved triplets: CPU per message 1.12 against 1.24 µs (sender) and 1.06 against 1.26
 * (receiver), medians. So what is queued is sealed while the turn goes on only once the queue
 * holds RECORD_MAX_BYTES or is full (#queued); any pump (that, the turn's end, a CREDIT record,
 * room in the first hop) seals everything queued, as one record if it fits in this size, else
 * in records split at RECORD_TARGET_BYTES. Session 29 had tried a like cut only together with
 * the kind byte written in front of the record (which alone made the sender worse), and
 * measured it worse with twice the page faults; this cut alone moved the sender's faults per
 * message from 0.005-0.009 to 0.006-0.010 while its CPU fell.
 */
const RECORD_WHOLE_QUEUE_MAX_BYTES = 80 * 1024;
/** Heads a channel end's envelope decoder keeps besides the last (see #envelopeDecoder). */
const CHANNEL_RECENT_HEADS = 16;
/** Next hops the memo of the peer's messages to local workers remembers besides the last (a few workers; RouteMemo's maxRemembered). */
const CHANNEL_REMEMBERED_HOPS = 16;
/**
 * A first hop that refuses a record for load (today's TcpConnection throws TCP_BACKPRESSURE
 * and does not say when it drains) is asked again after this long. Hops that expose
 * `isFull`/`onRoom` are waited on instead and never reach this.
 */
const REFUSED_RETRY_MS = 2;

/**
 * The largest envelope (routes and payload) a channel carries in one record: the 16 MiB frame
 * of the TCP transport (MAX_FRAME_LENGTH) less 64 KiB for the outer routes and the record's own
 * 26 bytes (kind, nonce, inner kind, tag). A larger send is refused before it is sealed.
 */
export const MAX_CHANNEL_MESSAGE_LENGTH = 16 * 1024 * 1024 - 64 * 1024;

/**
 * One end of a secure channel, with Ockam's three addresses:
 * - `encryptorAddress`: local workers route through it; it encrypts and sends to the peer;
 * - `remoteAddress`: handshake messages and ciphertext from the peer arrive here;
 * - `producerAddress`: decrypted messages are routed from it, so flow controls restrict them.
 * It runs on the node's main thread, beside the router and the transports; its AEAD runs
 * there too ("inline") or on one of the node's crypto threads (see ChannelCipher). Either
 * way seal and open results come back in order, so sends and deliveries keep the order of
 * the channel.
 *
 * An end is mostly idle, and a node may hold many thousands: it is itself its cipher's sink,
 * its liveness timer's holder (liveness-timers.ts) and its first hop's watcher, and its two
 * mailboxes are small objects whose methods live on their prototypes, so that an idle end
 * carries no closure (≈ 60 B each, with their contexts), and what only traffic, waits or a
 * closing end need is made when first needed.
 */
export class ChannelEnd implements ChannelCipherSink, LivenessHolder {
  readonly encryptorAddress = Address.random();
  readonly remoteAddress = Address.random();
  readonly producerAddress = Address.random();
  readonly #node: Node;
  readonly #log: Logger;
  /** Handshake-phase messages that came before anyone waited for them (made on first use, as the lists below: an empty array per end is 32 bytes). */
  #handshakeQueue: LocalMessage[] | undefined;
  #handshakeWaiter: ((message: LocalMessage) => void) | undefined;
  /** Fails the pending handshake wait (nextHandshakeMessage / waitForConfirm) when this end closes. */
  #handshakeFail: ((error: unknown) => void) | undefined;
  /** The channel's AEAD, from establish() to close(). */
  #cipher: ChannelCipher | undefined;
  /** Kept after close() so that droppedMessages still counts. */
  #counter: ChannelCipher | undefined;
  #fromRemote: Route;
  /** See `remoteRoute`: kept over an array of its own (ownRoute). */
  #remoteRoute: Route;
  /** Where the last record to the peer and the last delivered envelope went: a stream skips the router's checks while nothing changed. */
  #toPeer: RouteMemo | undefined;
  #toWorkers: RouteMemo | undefined;
  /** The router's mailboxes for our two addresses: they let go of this end when it closes. */
  readonly #remoteMailbox: RemoteMailbox;
  #encryptorMailbox: EncryptorMailbox | undefined;
  #peerIdentifier: Identifier | undefined;
  #onConfirm: (() => void) | undefined;
  #state: "handshaking" | "open" | "closed" = "handshaking";
  /** Envelopes waiting for the end of the turn, for credit or for room in the first hop. */
  readonly #queue: EncryptorQueue;
  /** What the peer lets us send. */
  readonly #sendCredit = new SendCredit();
  /** What we let the peer send, and the credit we owe it. */
  readonly #receiveCredit: ReceiveCredit;
  #pumpScheduled = false;
  /** What atTurnEnd calls to pump, made at the first send that waits for the turn's end (an idle end never does). */
  #pumpOnTurn: (() => void) | undefined;
  /** Cancels the wait for room in the first hop. */
  #hopWait: (() => void) | undefined;
  /** Sealed records the first hop refused for load, in order, to route before anything else; undefined when there are none. */
  #refused: SealedRecord[] | undefined;
  #refusedTimer: NodeJS.Timeout | undefined;
  /** Full destination mailboxes whose room releases held credit, with the cancel of each wait (made at the first). */
  #fullDestinations: Map<Mailbox, () => void> | undefined;
  /**
   * The peer's records go to many others' ways out (a relay service's registrant channel: its
   * answers to every initiator): a full network hop among them does not hold this channel's credit
   * (see shareCredit).
   */
  #sharedCredit = false;
  /** A shared channel's hold (see shareCredit), and since when it passed nothing on while holding: a record sealed, or the hold's start. */
  #hold: SharedHold | undefined;
  #progressAt = 0;
  /** Called when the queue and the refused records are empty, or the end closed (see whenSent). */
  #sentWaiters: (() => void)[] | undefined;
  /** Set by a graceful close (SecureChannel.close): local senders' messages are refused from then on (see stopAdmitting). */
  #admitting = true;
  #closing = false;
  #closedReason: CloseReason | undefined;
  /** The first hop to the peer, watched while open (see hopGone). */
  #watchedHop: Address | undefined;
  /** One callback (a listener's end has its listener's), or several in order (an array of them costs ≈ 64 B more). */
  #onClosed: ((end: ChannelEnd) => void) | ((end: ChannelEnd) => void)[] | undefined;
  /** `closed`, made on first use (most ends are never asked), and what resolves it. */
  #closed: Promise<Error> | undefined;
  #resolveClosed: ((reason: Error) => void) | undefined;
  /** Liveness (see liveness.ts): when we last sealed a record, and last opened one from the peer (performance.now()). */
  #lastSent = 0;
  /** The last message's routes and their encoded head (see #headOf). */
  #headOnward: Route | undefined;
  #headReturn: Route | undefined;
  #head: Uint8Array = EMPTY;
  /** Decodes what the peer sent, reusing the routes of a repeated head (made on first use). */
  #envelopes: EnvelopeHeadDecoder | undefined;
  /** The local info of every message this end delivers (who the peer is): one frozen object, made when the peer is known. */
  #deliveredInfo: LocalInfo = NO_LOCAL_INFO;
  #lastHeard = 0;
  /** True once any authenticated record came from the peer after open (for the responder: the initiator got CONFIRM). */
  #heard = false;
  #keepaliveEvery: number;
  /** The node's heartbeat budget (heartbeat-budget.ts), and whether this end counts in it (open, heartbeats under 5 s apart). */
  readonly #heartbeats: HeartbeatBudget;
  #budgeted = false;
  /** @internal where this end's liveness timer is in this thread's LivenessTimers (-1: none; it keeps this). */
  livenessSlot = -1;

  constructor(
    node: Node,
    readonly role: "initiator" | "responder",
    readonly options: Options,
    readonly flowControlId: FlowControlId,
    /** Where the peer's remote address is; updated from the handshake's return routes. */
    remoteRoute: Route,
  ) {
    this.#remoteRoute = ownRoute(remoteRoute);
    this.#node = node;
    this.#log = node.log.child("secure-channel");
    this.#queue = new EncryptorQueue(options.sendQueueLimits, sendQueueBudgetOf(node));
    this.#receiveCredit = new ReceiveCredit(options.receiveWindow);
    this.#keepaliveEvery = keepaliveEvery(options.keepaliveInterval, undefined);
    this.#heartbeats = heartbeatBudgetOf(node);
    this.#remoteMailbox = new RemoteMailbox(this.remoteAddress, this);
    node.router.register([this.remoteAddress], this.#remoteMailbox);
    this.#fromRemote = route(this.remoteAddress);
  }

  /** Where the peer's remote address is (the initiator learns it from message 2's return route). */
  get remoteRoute(): Route {
    return this.#remoteRoute;
  }

  set remoteRoute(value: Route) {
    this.#remoteRoute = ownRoute(value);
  }

  /**
   * Resolves with the reason once this end closes. Made on first use: a pending promise and
   * its resolver cost ≈ 0.15 KiB per end, and the listener's ends are seldom asked.
   */
  get closed(): Promise<Error> {
    if (this.#closed === undefined) {
      const reason = this.#closedReason;
      this.#closed = reason !== undefined ? Promise.resolve(reason.get()) : new Promise((resolve) => (this.#resolveClosed = resolve));
    }
    return this.#closed;
  }

  get state(): "handshaking" | "open" | "closed" {
    return this.#state;
  }

  get peerIdentifier(): Identifier | undefined {
    return this.#peerIdentifier;
  }

  /** @internal the slots of the send queue's ring (tests read it: a burst's ring goes once the queue is idle). */
  get sendQueueSlots(): number {
    return this.#queue.slots;
  }

  get droppedMessages(): number {
    return this.#counter?.dropped ?? 0;
  }

  /** Envelopes the peer sent past its credit, dropped. */
  get droppedOverCredit(): number {
    return this.#receiveCredit.excessMessages;
  }

  /**
   * True while local senders' messages wait in this end's queue up to its limit
   * (sendQueueLimits): for the peer's credit, or for a first hop that is full. A send now
   * would wait for room; `waitForDrain` resolves when there is room again. (Before open the
   * queue is empty, and close() empties it.)
   */
  get needsDrain(): boolean {
    return this.#queue.bound.isFull;
  }

  /**
   * For a send with `{ ifFull: "drop" }` (Mailbox.wouldOverflow): whether an envelope of about
   * `bytes` would wait in the queue past its byte bound: it would take the queue past it, and
   * the peer's credit or the first hop does not let the queue drain now. The queue takes one
   * message of any size when it is empty, so a peer that withholds credit, asking an echo
   * service for 15.5 MiB answers on many channels, pinned one per channel: 1 GiB with 64
   * channels on one connection (an adversarial trial, session 44). Past its allowance under the
   * node's send-queue budget too (send-queue-budget.ts), once the channels have spent it.
   */
  wouldOverflow(bytes: number): boolean {
    const queue = this.#queue;
    if (!queue.wouldPass(bytes)) return false;
    return !this.#sendCredit.allows(bytes, queue.length, queue.bytes) || this.#firstHop()?.isFull === true;
  }

  /**
   * Resolves when the queue is back under half its limits (at once if it is not full);
   * rejects with the channel's reason if it closes first, or with a TimeoutError or
   * AbortError per `options`.
   */
  waitForDrain(options: WaitOptions = {}): Promise<void> {
    if (this.#state === "closed") return Promise.reject(this.#closedReason!.get());
    if (!this.#admitting) return Promise.reject(closingError());
    if (!this.needsDrain) return Promise.resolve();
    let cancel: (() => void) | undefined;
    return waitFor<void>(
      (resolve, reject) => {
        // close() resets the queue's bound, which wakes this wait: the reason goes with it.
        // A graceful close wakes it too (stopAdmitting): room that will take nothing.
        cancel = this.#queue.bound.onRoom(() => {
          if (this.#state === "closed") reject(this.#closedReason!.get());
          else if (!this.#admitting) reject(closingError());
          else resolve();
        });
      },
      { ...options, what: () => `waiting for secure channel ${this.encryptorAddress.toString()} to drain`, cleanup: () => cancel?.() },
    );
  }

  /** Why this end closed, once it has. */
  get closedReason(): Error | undefined {
    return this.#closedReason?.get();
  }

  onClosed(callback: (end: ChannelEnd) => void): void {
    const onClosed = this.#onClosed;
    if (onClosed === undefined) this.#onClosed = callback;
    else if (typeof onClosed === "function") this.#onClosed = [onClosed, callback];
    else onClosed.push(callback);
  }

  /** Sends a handshake (or refusal) message to the peer, from the remote address. */
  sendOuter(kind: OuterKind, body: Uint8Array): void {
    const message = new LocalMessage(this.remoteRoute, this.#fromRemote, withKind(kind, body)); // routes are immutable: one return route for all
    this.#node.router.route(message, this.remoteAddress.key);
  }

  /** Waits for the next handshake-phase message from the peer (HANDSHAKE or REFUSED). */
  nextHandshakeMessage(signal?: AbortSignal): Promise<LocalMessage> {
    return this.#waitForPeer(signal, false) as Promise<LocalMessage>;
  }

  /**
   * Keys are in: set up the transport ciphers, inline or on a crypto thread, then zero the
   * key arrays here (a crypto thread got its copy; an inline cipher's AEADs hold their own,
   * as `createAead` must, and as the rekey path already relies on). The channel opens for
   * local senders on `open()`.
   */
  establish(result: HandshakeResult): void {
    if (this.#state !== "handshaking" || this.#closing) {
      // Closed while the handshake ran (its listener stopped, its connection went, the node
      // stopped) during an await of it: a trust policy's, say. Established and opened anyway,
      // it was an open end that close() had already run for and would not run again: its
      // encryptor on the router, a producer under a flow that was gone, the keys in its cipher.
      result.sendKey.fill(0);
      result.receiveKey.fill(0);
      throw this.#closedReason?.get() ?? new SecureChannelClosedError();
    }
    const cipherOptions = { provider: this.options.provider, rekeyInterval: this.options.rekeyInterval };
    const threads = cryptoThreadsOn(this.#node, this.options);
    if (threads > 0) {
      this.#cipher = CryptoThreads.forNode(this.#node, threads).createCipher(result, cipherOptions, this, threads);
    } else {
      if (this.options.cryptoThreads !== 0 && this.options.cryptoThreads !== "auto" && !this.#node.stopped) {
        this.#log.debug("a custom crypto provider cannot run on crypto threads; this channel's AEAD runs inline");
      }
      this.#cipher = new InlineChannelCipher(result, cipherOptions, this);
    }
    result.sendKey.fill(0);
    result.receiveKey.fill(0);
    this.#counter = this.#cipher;
    this.#deliveredInfo = deliveredInfoOf(result.peerIdentifier);
    this.#peerIdentifier = this.#deliveredInfo[SECURE_CHANNEL_IDENTIFIER] as Identifier;
  }

  /**
   * Waits (initiator) for the responder's CONFIRM, which only a trusting responder sends, and
   * opens the channel as it arrives (synchronously, so that messages right behind it are
   * delivered). Resolves to a REFUSED message instead if the responder refused.
   */
  waitForConfirm(signal?: AbortSignal): Promise<LocalMessage | "confirmed"> {
    return this.#waitForPeer(signal, true);
  }

  /** One wait, under the handshake timeout, for a handshake-phase message (or a CONFIRM). */
  #waitForPeer(signal: AbortSignal | undefined, orConfirm: boolean): Promise<LocalMessage | "confirmed"> {
    const queued = this.#handshakeQueue?.shift();
    if (queued) return Promise.resolve(queued);
    let unwatch: (() => void) | undefined;
    return waitFor<LocalMessage | "confirmed">(
      (resolve, reject) => {
        this.#handshakeWaiter = resolve;
        this.#handshakeFail = reject;
        // A first hop that goes away (a connection closed: the peer is no Hopwire node, or
        // died) fails the wait now, with its reason, rather than at the handshake timeout.
        const hop = this.remoteRoute.next();
        unwatch = this.#node.router.watchHop(hop, (error) => {
          const why = hopGoneReason(error);
          reject(new SecureChannelTransportError(`The first hop to the peer went away during the handshake: ${why.message}`, { cause: why }));
        });
        if (orConfirm) {
          this.#onConfirm = () => {
            this.open();
            resolve("confirmed");
          };
        }
      },
      {
        timeout: this.options.handshakeTimeout,
        signal,
        what: "secure channel handshake",
        timeoutHint: () => this.#handshakeTimeoutHint(orConfirm),
        cleanup: () => {
          unwatch?.();
          this.#handshakeWaiter = undefined;
          this.#handshakeFail = undefined;
          this.#onConfirm = undefined;
        },
      },
    );
  }

  /**
   * What a handshake wait that timed out was waiting for, and the likely cause, for its
   * TimeoutError (not an AbortError: an abort is the caller's, and says nothing of the route).
   */
  #handshakeTimeoutHint(orConfirm: boolean): string {
    if (this.role === "responder") return " (the initiator sent no third message)";
    if (orConfirm) return " (the responder answered, then sent no CONFIRM)";
    const to = this.remoteRoute.toString();
    // A relay's name held by nobody (its registrant gone, not yet registered again) looks the same from here.
    const viaRelay = this.remoteRoute.addresses.some((a) => a.value.startsWith(FORWARDER_PREFIX))
      ? "; through a relay, is its name registered now (its registrant may be gone, or not registered again yet)?"
      : "?";
    return ` (no answer from ${to}: is a secure channel listener at the end of that route, and a consumer of the flow the handshake arrives on${viaRelay} Its node warns when flow controls drop a message)`;
  }

  /** The channel is open: local workers may route through the encryptor address. */
  open(spawnerFlowControlId?: FlowControlId): void {
    const router = this.#node.router;
    this.#encryptorMailbox = new EncryptorMailbox(this.encryptorAddress, this, this.#queue.bound);
    router.register([this.encryptorAddress], this.#encryptorMailbox);
    this.#node.flowControls.addProducer(this.producerAddress, this.flowControlId, spawnerFlowControlId, [this.encryptorAddress]);
    this.#state = "open";
    // If the first hop to the peer (a connection) goes away, so does the channel.
    this.#watchedHop = this.remoteRoute.next();
    router.watchHop(this.#watchedHop, this);
    // The initiator opens on CONFIRM, so it has heard from the responder already.
    this.#heard = this.role === "initiator";
    // One record: the responder's CONFIRM, the grant (the peer may send nothing before it; the
    // initiator's follows the responder's CONFIRM) and the heartbeat that tells the peer how
    // often it must be heard from.
    this.#sendInner(InnerKind.CONTROLS, openingBody(this.role, this.#receiveCredit.initialRecord(), this.options.peerTimeout));
    this.#lastHeard = performance.now();
    this.#updateBudgeted();
    this.#armLiveness(this.#lastHeard);
  }

  /**
   * @internal The router's hop watcher (Router.watchHop): the first hop to the peer went away.
   * The end itself watches, not a closure of it (≈ 0.1 KiB an end, with its context).
   */
  hopGone(error: Error): void {
    // Without a stack trace, as every close reason (see CloseReason): its frames were the
    // router's and the connection's close path, which its cause's stack shows already; and the
    // closed channel's tombstone keeps the reason (~0.7 KB of text per tombstone, 1,024 a node).
    const cause = hopGoneReason(error);
    this.close(stackless(() => new SecureChannelTransportError("The first hop to the peer went away", { cause })), false);
  }

  /** How long the peer may be silent: the peer timeout, or the handshake timeout if shorter while a responder waits for its first record. */
  #silenceAllowed(): number {
    return this.#heard ? this.options.peerTimeout : Math.min(this.options.peerTimeout, this.options.handshakeTimeout);
  }

  /**
   * When a shared channel (shareCredit) that holds records past its limits, pausing feeders, and
   * passes none on is closed: SHARED_HOLD_STALL_SHARE of the peer timeout after its last record
   * sealed or the hold's first pause of a feeder (Infinity while it holds nothing or pauses nobody,
   * and for other channels: a slow peer that holds nobody up keeps its channel).
   */
  #stallDue(): number {
    const hold = this.#hold;
    // A hold that pauses a feeder holds bytes (reset clears both).
    return hold === undefined || !hold.pausing ? Number.POSITIVE_INFINITY : this.#progressAt + this.options.peerTimeout * SHARED_HOLD_STALL_SHARE;
  }

  /**
   * One lazy timer per end (on this thread's LivenessTimers, which keeps them all on one Node
   * timer): it fires at the earliest of "heartbeat due", "peer silent too long" as known when
   * armed, and a third of the silence window; traffic only moves the first two later, so a
   * timer that fires early just re-arms. No timer work per record.
   */
  #armLiveness(now: number): void {
    const allowed = this.#silenceAllowed();
    // At least three looks per silence window: a stall of this process is measured by how late
    // the timer fires (see livenessDue), which says nothing of the silence before it was due.
    const due = Math.min(this.#lastSent + this.#heartbeatEvery(), this.#lastHeard + allowed, now + allowed / 3, this.#stallDue());
    // At most MAX_TIMEOUT_MS, as a Node timer's delay (a timer of weeks fires early and re-arms).
    const delay = Math.min(MAX_TIMEOUT_MS, Math.max(1, Math.ceil(due - now)));
    livenessTimers.arm(this, now + delay);
  }

  /** @internal LivenessHolder: this end's liveness timer, due at `due`, fired. */
  livenessDue(due: number): void {
    if (this.#state !== "open") return;
    const now = performance.now();
    // The silence clock stops while this process does not run (a long GC, a blocking call, a
    // starved CPU): what the peer sent meanwhile is not read yet, and a peer that shares the
    // stall has sent nothing. The timer's lateness measures the stall.
    const stalled = now - due;
    if (stalled > 0) {
      this.#lastHeard = Math.min(now, this.#lastHeard + stalled);
      this.#progressAt = Math.min(now, this.#progressAt + stalled);
    }
    const silent = now - this.#lastHeard;
    if (silent >= this.#silenceAllowed()) {
      const what = this.#heard ? "no heartbeat" : "no CONFIRM acknowledgement";
      this.#log.debug(`channel ${this.encryptorAddress.toString()}: ${what} from the peer for ${Math.round(silent)} ms; closing`);
      // The CLOSE goes out anyway: a peer that is alive but unheard learns it at once.
      return this.close(new SecureChannelPeerGoneError(`Nothing authenticated from the peer for ${Math.round(silent)} ms (${what})`));
    }
    if (now >= this.#stallDue()) {
      const held = this.#hold!.held;
      const stuck = Math.round(now - this.#progressAt);
      this.#log.warn(`closing channel ${this.encryptorAddress.toString()}: its peer took nothing for ${stuck} ms while ${held} bytes past its limits waited (SECURE_CHANNEL_PEER_STALLED)`);
      return this.close(new SecureChannelPeerStalledError(`The peer took nothing for ${stuck} ms while ${held} bytes past the channel's limits waited for it`));
    }
    if (now - this.#lastSent >= this.#heartbeatEvery()) {
      if (this.#budgeted) this.#heartbeats.sealed++;
      this.#sendInner(InnerKind.HEARTBEAT, encodeHeartbeat(this.options.peerTimeout));
      // A heartbeat whose route failed closed the end: it has no timer to arm (a review's catch).
      if (this.#state !== "open") return;
    }
    // A send queue that a burst grew and that is empty now lets go of its slots (a stream keeps them between its turns).
    this.#queue.trim();
    this.#armLiveness(now);
  }

  /**
   * How long this end may seal nothing before it heartbeats: its keepalive, or its share of the
   * node's heartbeat budget if that is longer, but never more than HEARTBEAT_BUDGET_EXEMPT_MS
   * (an end that asks for less must not wait longer than one that is not budgeted).
   */
  #heartbeatEvery(): number {
    if (!this.#budgeted) return this.#keepaliveEvery;
    return Math.min(Math.max(this.#keepaliveEvery, this.#heartbeats.spacing), HEARTBEAT_BUDGET_EXEMPT_MS);
  }

  /** Counts this end in the node's heartbeat budget while it is open and heartbeats under HEARTBEAT_BUDGET_EXEMPT_MS apart. */
  #updateBudgeted(): void {
    const budgeted = this.#state === "open" && this.#keepaliveEvery < HEARTBEAT_BUDGET_EXEMPT_MS;
    if (budgeted === this.#budgeted) return;
    this.#budgeted = budgeted;
    if (budgeted) this.#heartbeats.join();
    else this.#heartbeats.leave();
  }

  /** The peer announced its timeout: heartbeats go at least a third of it apart. */
  #onHeartbeat(body: Uint8Array): void {
    const announced = decodeHeartbeat(body);
    if (announced === undefined) return this.#log.debug("a malformed HEARTBEAT was ignored");
    const every = keepaliveEvery(this.options.keepaliveInterval, announced);
    if (every === this.#keepaliveEvery) return;
    this.#keepaliveEvery = every;
    this.#updateBudgeted();
    if (this.livenessSlot >= 0) {
      livenessTimers.cancel(this);
      this.#armLiveness(performance.now());
    }
  }

  /**
   * Resolves once everything local senders queued has been sealed and routed (at once if
   * nothing is queued), when the end closes, or after `timeoutMs` — whichever comes first.
   * A graceful close waits for it, so messages waiting for credit are not dropped.
   */
  whenSent(timeoutMs: number): Promise<void> {
    if (this.#allSent() || this.#state === "closed") return Promise.resolve();
    return new Promise((resolve) => {
      // Infinity waits for everything queued (a timer would fire at once for it).
      const timer = timeoutMs === Number.POSITIVE_INFINITY ? undefined : setTimeout(done, timeoutMs);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      (this.#sentWaiters ??= []).push(done);
    });
  }

  /**
   * A graceful close began: what is queued goes out, and nothing more gets in. Senders that
   * waited for room, and new ones, get a SecureChannelClosedError at once; until session 43
   * they were admitted as the queue drained, so the close could not drain before its timeout,
   * which then dropped messages whose sends had resolved.
   */
  stopAdmitting(): void {
    this.#admitting = false;
    this.#queue.bound.wakeAll();
  }

  #allSent(): boolean {
    return this.#queue.length === 0 && this.#refused === undefined;
  }

  #notifySent(): void {
    const waiters = this.#sentWaiters;
    if (waiters === undefined || !(this.#allSent() || this.#state === "closed")) return;
    this.#sentWaiters = undefined;
    for (const waiter of waiters) waiter();
  }

  /**
   * Closes this end: tells the peer (unless it told us), forgets addresses, drops keys. An open
   * end's reason is always a SecureChannelClosedError (another error becomes its cause): it is
   * what `closed` resolves to, what pending requests through the channel fail with, and what
   * later sends into the channel throw. `given` may be a function that makes a
   * SecureChannelClosedError: called only if someone asks why (see CloseReason).
   */
  close(given: Error | (() => Error) = CLOSED_LOCALLY, notifyPeer = true): void {
    if (this.#state === "closed" || this.#closing) return;
    this.#closing = true;
    // The reason outlives this end (a tombstone keeps it): its stack must not keep this end,
    // or the connection that failed, alive (see releaseStackFrames).
    if (given instanceof Error) releaseStackFrames(given);
    const wasOpen = this.#state === "open";
    let made = given;
    if (wasOpen && made instanceof Error && !(made instanceof SecureChannelClosedError)) {
      const cause = made;
      made = stackless(() => new SecureChannelClosedError(`The secure channel closed: ${cause.message}`, { cause }));
    }
    const reason = new CloseReason(made);
    livenessTimers.cancel(this);
    if (notifyPeer && this.#state === "open") {
      try {
        this.#pump(); // what credit allows goes before the CLOSE
        this.#sendInner(InnerKind.CLOSE, EMPTY);
      } catch (error) {
        this.#log.debug("could not tell the peer that the channel closed", error);
      }
    }
    this.#state = "closed";
    this.#updateBudgeted();
    this.#closedReason = reason;
    if (this.#watchedHop !== undefined) this.#node.router.unwatchHop(this.#watchedHop, this);
    this.#watchedHop = undefined;
    this.#stopWaiting();
    const unsent = this.#queue.dropAll(); // wakes senders waiting for room: their next send fails
    if (unsent > 0) this.#log.debug(`channel ${this.encryptorAddress.toString()} closed with ${unsent} messages unsent`);
    this.#node.router.unregister([this.encryptorAddress], reason.get);
    // Records the peer sent before it learnt of the close still arrive: refused quietly.
    this.#node.router.retire([this.remoteAddress], reason.get);
    this.#node.flowControls.cleanup(this.producerAddress);
    // The flow's consumers go too: every worker that sent into the channel became one (the
    // router lets its replies back), and a long-lived worker would otherwise keep an entry per
    // channel it ever used, as would the flow's emptied set (a TcpConnection does the same).
    // The id is this end's own (the responder's spawner id, the listener's, stays).
    this.#node.flowControls.removeFlow(this.flowControlId);
    // Later sends into the channel get its reason, not UnknownAddressError on a random address.
    if (wasOpen) rememberClosedEncryptor(this.#node, this.encryptorAddress, reason.get);
    // Whoever still holds our mailboxes (a connection's or a sender's RouteMemo remembers its
    // last next hops until it routes again) holds an empty shell, not this end; and what a
    // peer could fill (the head decoder's cache of up to 1,024 heads) goes now.
    this.#remoteMailbox.detach();
    this.#encryptorMailbox?.detach();
    this.#envelopes?.forgetHeads(); // their share of the node's kept-heads budget goes back
    this.#envelopes = undefined;
    this.#toWorkers = undefined;
    this.#cipher?.dispose(); // threaded: after the CLOSE above, in the thread
    this.#cipher = undefined;
    this.#handshakeWaiter = undefined;
    // A handshake still waiting (e.g. for CONFIRM) fails now rather than at its timeout.
    const fail = this.#handshakeFail;
    this.#handshakeFail = undefined;
    fail?.(reason.get());
    this.#notifySent();
    forgetChannelEnd(this.#node, this);
    const onClosed = this.#onClosed;
    this.#onClosed = undefined;
    if (typeof onClosed === "function") onClosed(this);
    else if (onClosed !== undefined) for (const callback of onClosed) callback(this);
    this.#resolveClosed?.(reason.get());
    this.#resolveClosed = undefined;
    if (this.#log.enabled) this.#log.debug(`channel ${this.encryptorAddress.toString()} closed: ${reason.get().message}`);
  }

  /**
   * A local message to the far side: [onward minus us, return route, payload], queued. A
   * large one (or a full record's worth) is sealed at once, as far as credit and the first
   * hop allow; small ones wait for the end of the event-loop turn and are sealed together
   * (MESSAGES), one AEAD call for all of them, as TLS seals records rather than writes.
   * @internal what the encryptor address's mailbox delivers.
   */
  encrypt(message: LocalMessage): void {
    this.#enqueue(message, false);
  }

  /**
   * @internal what the encryptor mailbox's deliverBytes does: queues a message whose body is
   * `bytes`, lent by its sender (theirs again once this returns), copied into the queue's
   * staging memory (EncryptorQueue.pushLentBytes) rather than into a fresh buffer at the send.
   */
  encryptLentBytes(onwardRoute: Route, returnRoute: Route, bytes: Uint8Array): void {
    const payloadLength = bytesBodyLength(bytes);
    const head = this.#admittedHead(onwardRoute, returnRoute, payloadLength);
    if (head === undefined) return;
    this.#queue.pushLentBytes(head, bytes);
    this.#queued(payloadLength);
  }

  /**
   * @internal what the encryptor mailbox's deliverLent does: `encrypt`, for a message whose
   * payload is lent (a range of a thread's batch that goes back to that thread): the payload is
   * copied into the queue's staging memory (EncryptorQueue.pushLentPayload) before this returns.
   */
  encryptLent(message: LocalMessage): void {
    this.#enqueue(message, true);
  }

  /**
   * Queues `message` for sealing: its payload kept as it is, or (`lent`) copied into staging
   * memory. A large payload given in parts (a portal's kind byte and socket read) stays in
   * parts: it is sealed alone, from its parts (#sealRecord), never joined. Either way a payload
   * that is not lent is kept, not copied, until it is sealed (which may wait for credit): its
   * bytes must not change meanwhile, as for any message routed (lent bytes come through
   * deliverBytes or deliverLent, which copy them).
   */
  #enqueue(message: LocalMessage, lent: boolean): void {
    const length = message.payloadLength;
    const head = this.#admittedHead(message.onwardRoute, message.returnRoute, length);
    if (head === undefined) return;
    const parts = message.parts;
    if (parts !== undefined && !lent && length > COALESCE_MAX_PAYLOAD) this.#queue.pushParts(head, parts, length);
    else if (lent) this.#queue.pushLentPayload(head, message.payload);
    else this.#queue.push(head, message.payload);
    this.#queued(length);
  }

  /**
   * The head of a message to queue along these routes, or undefined while the end is not open
   * (the message is dropped); throws for one too large for a record (#checkSize), and once a
   * graceful close began (stopAdmitting).
   */
  #admittedHead(onwardRoute: Route, returnRoute: Route, payloadLength: number): Uint8Array | undefined {
    if (this.#state !== "open") return undefined;
    if (!this.#admitting) throw closingError();
    const head = this.#headOf(onwardRoute, returnRoute);
    this.#checkSize(head, payloadLength);
    return head;
  }

  /** Refuses a message too large for one record to its sender, before sealing: nothing goes out and the channel stays open. */
  #checkSize(head: Uint8Array, payloadLength: number): void {
    const size = head.length + PAYLOAD_LENGTH_BYTES + payloadLength;
    if (size > MAX_CHANNEL_MESSAGE_LENGTH) {
      throw new SecureChannelMessageTooLargeError(
        `A message of ${size} bytes (routes and payload) does not fit in one secure channel record (at most ${MAX_CHANNEL_MESSAGE_LENGTH}): send it in smaller messages, or as a byte stream through a portal`,
      );
    }
  }

  /**
   * A message was queued: seal now if it goes alone, if the queue holds the most a record may,
   * or if it is full (its sendQueueLimits, or its share of a spent send-queue budget: a burst
   * the peer's credit and the first hop could take must not make senders wait, or drop sends
   * drop, only because this end held it for the turn's end); else at the end of the turn.
   */
  #queued(payloadLength: number): void {
    const queue = this.#queue;
    if (payloadLength > COALESCE_MAX_PAYLOAD || plaintextOf(queue.length, queue.bytes) >= RECORD_MAX_BYTES || queue.bound.isFull) this.#pump();
    else this.#schedulePump();
  }

  /**
   * The envelope head of a message along these routes for the far side (onward route without
   * us, return route, bin32 tag), without the payload's length. A stream repeats its routes
   * (the same objects, or equal ones built per send): encoded once, not per message.
   */
  #headOf(onwardRoute: Route, returnRoute: Route): Uint8Array {
    if (onwardRoute === this.#headOnward && returnRoute === this.#headReturn) return this.#head;
    // A loop that builds its route per send (`route(channel, "sink")`) has equal routes in new
    // objects: the same head, found by comparing a few hops, not encoded again; the queue's
    // records then repeat it (REPEATED_HEAD) instead of carrying it with every message.
    const onward = this.#headOnward;
    if (onward !== undefined && onwardRoute.equals(onward, 1) && returnRoute.equals(this.#headReturn!)) return this.#head;
    const encoded = encodeEnvelopeHead(new LocalMessage(onwardRoute, returnRoute, EMPTY), "network", 1); // without our own hop
    const head = encoded.subarray(0, encoded.length - PAYLOAD_LENGTH_BYTES);
    // A head too costly to keep (an answer along a peer's return route of many hops: up to
    // 64 KiB) is the queue's alone: kept here, it and its routes would stay with the idle channel.
    if (keptHeadCost(head.length, onwardRoute, returnRoute) > CHANNEL_MAX_HEAD_COST) return head;
    this.#head = head;
    this.#headOnward = onwardRoute;
    this.#headReturn = returnRoute;
    return head;
  }

  #schedulePump(): void {
    if (this.#pumpScheduled) return;
    this.#pumpScheduled = true;
    atTurnEnd(this.#pumpOnTurn ?? this.#makePumpOnTurn());
  }

  /** Made apart from #schedulePump, whose every call would otherwise allocate the context such a closure needs. */
  #makePumpOnTurn(): () => void {
    return (this.#pumpOnTurn = () => {
      this.#pumpScheduled = false;
      this.#pump();
    });
  }

  /**
   * Seals queued envelopes, in order, while the peer's credit and the first hop allow. Called
   * again when either changes (a CREDIT record, the hop's onRoom, a refused record accepted).
   */
  #pump(): void {
    const queue = this.#queue;
    while (queue.length > 0 && this.#state === "open" && this.#hopWait === undefined && this.#refused === undefined) {
      if (this.#waitIfHopFull()) return;
      const next = this.#nextRecord();
      if (next === undefined) return; // no credit: the peer's next CREDIT record pumps again
      this.#sealRecord(next.count, next.bytes);
    }
    this.#notifySent();
  }

  /** The mailbox our ciphertext goes to next (a connection, a relay, a dial): we wait while it is full. */
  #firstHop(): Mailbox | undefined {
    return this.#node.router.mailboxOf(this.remoteRoute.next());
  }

  /** True (and a wait set up) if the first hop is full; its onRoom pumps again. */
  #waitIfHopFull(): boolean {
    const hop = this.#firstHop();
    if (!hop?.isFull || hop.onRoom === undefined) return false;
    this.#hopWait = hop.onRoom(() => {
      this.#hopWait = undefined;
      this.#pump();
    });
    return true;
  }

  /**
   * Which queued envelopes the next record takes (how many, and their bytes as EncryptorQueue
   * sizes them): none without credit, one if it is large, everything if it all fits in one
   * record of RECORD_WHOLE_QUEUE_MAX_BYTES, else as many small ones as fit.
   */
  #nextRecord(): { count: number; bytes: number } | undefined {
    const queue = this.#queue;
    const credit = this.#sendCredit;
    const first = queue.size(0);
    if (!credit.allows(first)) return undefined;
    if (queue.payloadLength(0) > COALESCE_MAX_PAYLOAD) return { count: 1, bytes: first };
    const whole = plaintextOf(queue.length, queue.bytes) <= RECORD_WHOLE_QUEUE_MAX_BYTES;
    let count = 1;
    let bytes = first;
    while (count < queue.length && queue.payloadLength(count) <= COALESCE_MAX_PAYLOAD && (whole || !this.#recordIsFull(count, bytes))) {
      const size = queue.size(count);
      if (plaintextOf(count + 1, bytes + size) > RECORD_MAX_BYTES || !credit.allows(size, count, bytes)) break;
      count++;
      bytes += size;
    }
    return { count, bytes };
  }

  /**
   * Whether a record of `count` envelopes (`bytes` as EncryptorQueue sizes them, plus a length
   * word each in the record) takes no more: at RECORD_MAX_BYTES, or at RECORD_TARGET_BYTES
   * once it holds RECORD_MIN_MESSAGES.
   */
  #recordIsFull(count: number, bytes: number): boolean {
    const plaintext = plaintextOf(count, bytes);
    return plaintext >= RECORD_MAX_BYTES || (plaintext >= RECORD_TARGET_BYTES && count >= RECORD_MIN_MESSAGES);
  }

  /**
   * Seals the `count` oldest envelopes (`bytes` in all): one as MESSAGE (parts straight to the
   * cipher), several as one MESSAGES record. They are taken and counted before sealing: an
   * inline seal routes at once, and a failed route closes the end.
   */
  #sealRecord(count: number, bytes: number): void {
    const queue = this.#queue;
    this.#sendCredit.spend(count, bytes);
    this.#lastSent = this.#progressAt = performance.now();
    if (count === 1) {
      const head = queue.head(0);
      const length = queue.payloadLength(0);
      const payload = queue.payload(0);
      const staged = queue.takeFirst(bytes);
      try {
        if (payload instanceof Uint8Array) this.#cipher?.seal(InnerKind.MESSAGE, withPayloadLength(head, length), payload);
        else this.#cipher?.seal(InnerKind.MESSAGE, withPayloadLength(head, length, payload), lastPart(payload));
      } finally {
        // The seal has read the payload (inline, or into a crypto thread's batch): its staging memory is free.
        if (staged !== undefined) release(staged);
      }
    } else {
      // Joined into the shared scratch: a seal reads its plaintext before it returns (ChannelCipher.seal).
      const record = queue.takeRecord(count, bytes, joinScratch(bytes + 4 * count));
      this.#cipher?.seal(InnerKind.MESSAGES, record, EMPTY);
    }
  }

  /** Control records (CONFIRM, CREDIT, CLOSE) need no credit and go at once. */
  #sendInner(kind: InnerKind, body: Uint8Array): void {
    this.#lastSent = performance.now();
    this.#cipher?.seal(kind, body, EMPTY);
  }

  /** Routes a sealed record to the peer; a hop that refuses it for load gets it again later, in order. */
  #routeSealed(transportPayload: SealedRecord): void {
    if (this.#refused !== undefined) {
      this.#refused.push(transportPayload);
      return;
    }
    if (!this.#tryRoute(transportPayload)) {
      this.#refused = [transportPayload];
      this.#retryRefused();
    }
  }

  /** True if routed; false if the hop refused it for load (the record is kept); closes the end on any other failure. */
  #tryRoute(transportPayload: SealedRecord): boolean {
    try {
      const message =
        transportPayload instanceof Uint8Array
          ? new LocalMessage(this.remoteRoute, this.#fromRemote, transportPayload)
          : LocalMessage.fromParts(this.remoteRoute, this.#fromRemote, transportPayload);
      (this.#toPeer ??= new RouteMemo(this.#node.router, this.remoteAddress.key)).route(message);
      return true;
    } catch (error) {
      if (isRefusedForLoad(error)) return false;
      this.#log.debug("the route to the peer failed; closing the channel", error);
      // Stackless, as in hopGone: the cause keeps its own stack.
      this.close(stackless(() => new SecureChannelTransportError(`The route to the peer failed: ${(error as Error)?.message}`, { cause: error })), false);
      return true; // nothing to keep: the channel is closed
    }
  }

  /** Waits for the hop's room where it says so, else asks again shortly; then routes the refused records in order. */
  #retryRefused(): void {
    if (this.#refusedTimer !== undefined || this.#hopWait !== undefined) return;
    const again = (): void => {
      this.#refusedTimer = undefined;
      this.#hopWait = undefined;
      this.#flushRefused();
    };
    const hop = this.#firstHop();
    if (hop?.isFull && hop.onRoom) this.#hopWait = hop.onRoom(again);
    else this.#refusedTimer = setTimeout(again, REFUSED_RETRY_MS);
  }

  #flushRefused(): void {
    const refused = this.#refused;
    // A failed route closes the end, which empties the list (#stopWaiting): the loop ends.
    while (refused !== undefined && refused.length > 0) {
      if (!this.#tryRoute(refused[0]!)) return this.#retryRefused();
      refused.shift();
    }
    if (this.#refused === refused) this.#refused = undefined;
    this.#pump();
  }

  /** Cancels every wait: for the first hop, for refused records, for full destinations. */
  #stopWaiting(): void {
    this.#hopWait?.();
    this.#hopWait = undefined;
    if (this.#refusedTimer !== undefined) clearTimeout(this.#refusedTimer);
    this.#refusedTimer = undefined;
    if (this.#refused !== undefined) this.#refused.length = 0;
    this.#refused = undefined;
    const full = this.#fullDestinations;
    this.#fullDestinations = undefined;
    if (full !== undefined) for (const cancel of full.values()) cancel();
  }

  // The cipher's results (ChannelCipherSink), in the order of the seal/open calls: the end is
  // its cipher's sink, so no object or closure per end or per message. @internal, all five.

  /** @internal Sealed while open, so it goes out even if the end closed meanwhile (e.g. the CLOSE itself). */
  sealed(transportPayload: SealedRecord): void {
    this.#routeSealed(transportPayload);
  }

  /** @internal */
  opened(plaintext: Uint8Array | readonly Uint8Array[]): void {
    if (plaintext instanceof Uint8Array) this.#onPlaintext(plaintext);
    else this.#onPlaintextPieces(plaintext);
  }

  /** @internal */
  dropped(reason: DropReason): void {
    this.#log.debug(`channel ${this.encryptorAddress.toString()} dropped a message: ${reason}`);
  }

  /** @internal */
  failed(error: Error): void {
    this.#log.debug(`channel ${this.encryptorAddress.toString()} lost its cipher`, error);
    this.close(error, false);
  }

  /** @internal */
  stopping(): void {
    this.close();
  }

  /** @internal what the remote address's mailbox delivers: handshake messages and ciphertext from the peer. */
  deliverFromPeer(message: LocalMessage): void {
    // A record that spanned socket reads comes in parts: opened part by part where the cipher can, never joined.
    const parts = message.parts;
    if (parts !== undefined && this.#cipher?.openParts !== undefined && parts[0]!.length > 0 && parts[0]![0] === OuterKind.TRANSPORT) {
      return this.#cipher.openParts(parts, 1);
    }
    const payload = message.payload;
    const kind = payload[0];
    if (kind === OuterKind.TRANSPORT && this.#cipher) return this.#cipher.open(payload.subarray(1));
    if (kind === OuterKind.REFUSED && this.#state === "open" && !this.#heard) {
      // The initiator gave up before our CONFIRM reached it (lost, or late past its timeout):
      // drop this half-open end now. Unauthenticated, as every handshake-phase notice is: a
      // forger could as well have dropped the CONFIRM.
      return this.close(stackless(() => new SecureChannelClosedByPeerError("The initiator gave up the handshake before CONFIRM reached it")), false);
    }
    if (this.#state === "handshaking" && (kind === OuterKind.HANDSHAKE || kind === OuterKind.REFUSED)) {
      const waiter = this.#handshakeWaiter;
      if (waiter) {
        this.#handshakeWaiter = undefined;
        waiter(message);
      } else if ((this.#handshakeQueue ??= []).length < 4) this.#handshakeQueue.push(message);
      return;
    }
    this.#log.debug(`channel ${this.encryptorAddress.toString()} dropped an unexpected message (kind ${String(kind)})`);
  }

  /** An authenticated plaintext, in channel order. CONFIRM opens the initiator before the next one is handled. */
  #onPlaintext(plaintext: Uint8Array): void {
    if (!this.#heardFromPeer()) return;
    switch (plaintext[0]) {
      case InnerKind.MESSAGE:
      case InnerKind.MESSAGES:
        this.#deliverRecord(plaintext);
        // The record is delivered: an idle channel keeps no plaintext alive (payloads given to workers keep their own),
        // nor the routes of a head too costly to hold for its repeats (a record's repeats end with it).
        return this.#envelopes?.release(true);
      case InnerKind.CONTROLS:
        if (!forEachControl(plaintext.subarray(1), ChannelEnd.#onControlInBundle, this)) this.#log.debug("a malformed CONTROLS record was cut short");
        return;
      default:
        this.#onControl(plaintext[0]!, plaintext.subarray(1));
    }
  }

  /**
   * An authenticated plaintext in pieces (a record that spanned socket reads): a MESSAGES
   * record's envelopes are read across them (PlaintextPieces), a MESSAGE record's payload goes
   * on in its pieces (#deliverPieces); anything else is joined.
   */
  #onPlaintextPieces(pieces: readonly Uint8Array[]): void {
    const kind = pieces.length === 0 || pieces[0]!.length === 0 ? undefined : pieces[0]![0];
    if (kind !== InnerKind.MESSAGE && kind !== InnerKind.MESSAGES) return this.#onPlaintext(concatBytes(...pieces));
    if (!this.#heardFromPeer()) return;
    if (kind === InnerKind.MESSAGES) this.#deliverMessages(new PlaintextPieces(pieces, 1));
    else if (!this.#deliverPieces(pieces)) this.#deliverRecord(concatBytes(...pieces));
    this.#envelopes?.release(true);
  }

  /**
   * A MESSAGE record in pieces whose envelope head lies in the first: its payload goes on in
   * parts (LocalMessage.fromParts), the pieces as they are, joined only if a worker reads the
   * payload (a connection writes parts, a thread's mailbox copies them, a portal writes them to
   * its socket). False, with nothing delivered or counted, when the head does not decode from
   * the first piece (it straddles two, or it is malformed, or its length disagrees): the caller
   * then reads the record joined, as any other.
   */
  #deliverPieces(pieces: readonly Uint8Array[]): boolean {
    const first = pieces[0]!;
    let size = -1; // the envelope's length: the record's, less its kind byte
    for (const piece of pieces) size += piece.length;
    const decoder = this.#envelopeDecoder();
    try {
      decoder.decode(first, 1, first.length, 1 + size);
    } catch {
      return false; // the head straddles the pieces (or is malformed): read from the joined record
    }
    if (!this.#admit(size)) return true;
    // The first piece's share of the payload may be empty (the head ended it): left out, as a connection does.
    const rest = first.subarray(decoder.payloadOffset);
    const parts = rest.length > 0 ? [rest, ...pieces.slice(1)] : pieces.slice(1);
    const message = LocalMessage.fromParts(decoder.onwardRoute, decoder.returnRoute, parts, this.#deliveredInfo);
    this.#consumed(size, this.#routeToWorkers(message));
    return true;
  }

  /**
   * An authenticated record came: the peer is alive (heartbeat or not), and its envelopes are
   * admitted against the credit it can have known of (ReceiveCredit.beginRecord). False if this
   * end closed meanwhile (a threaded result after close()).
   */
  #heardFromPeer(): boolean {
    if (this.#state === "closed") return false;
    this.#lastHeard = performance.now();
    this.#heard = true;
    this.#receiveCredit.beginRecord();
    return true;
  }

  /** A CONFIRM, CLOSE, CREDIT or HEARTBEAT, alone or from a CONTROLS record. */
  #onControl(kind: number, body: Uint8Array): void {
    switch (kind) {
      case InnerKind.CONFIRM:
        this.#onConfirm?.();
        this.#onConfirm = undefined;
        return;
      case InnerKind.CLOSE:
        return this.close(CLOSED_BY_PEER, false);
      case InnerKind.CREDIT:
        return this.#onCredit(body);
      case InnerKind.HEARTBEAT:
        return this.#onHeartbeat(body);
      default:
        this.#log.debug("an authenticated message of an unknown kind was dropped");
    }
  }

  /**
   * The decoder of the envelopes in this end's records, made at the first: it keeps a few heads
   * besides the last (its messages go to a few workers), not a connection's 1,024: each
   * request's reply address is a new head, and the hashes of heads seen once would otherwise
   * stay with an idle channel (≈ 80 KiB at the default's 4,096). What it keeps of the peer's
   * heads is bounded in memory too, per channel and over the node's channels (kept-heads.ts).
   */
  #envelopeDecoder(): EnvelopeHeadDecoder {
    return (this.#envelopes ??= new EnvelopeHeadDecoder({
      returnPrefix: this.encryptorAddress,
      recentHeads: CHANNEL_RECENT_HEADS,
      maxKeptHeadBytes: CHANNEL_KEPT_HEAD_BYTES,
      maxHeadCost: CHANNEL_MAX_HEAD_COST,
      keptHeadsBudget: channelKeptHeadsOf(this.#node),
    }));
  }

  /** A CONTROLS record's records, in order, while the end is not closed (a CLOSE in it ends it): one function for every end. */
  static readonly #onControlInBundle = (kind: InnerKind, body: Uint8Array, end: ChannelEnd): boolean => {
    end.#onControl(kind, body);
    return end.#state !== "closed";
  };

  /**
   * A MESSAGE record's envelope, or each envelope of a MESSAGES record in order: a length
   * that overruns the record, or a repeated head whose head was not delivered (none before
   * it, or one that was refused), ends it.
   */
  #deliverRecord(plaintext: Uint8Array): void {
    if (plaintext[0] === InnerKind.MESSAGE) return void this.#deliverPlaintext(plaintext, 1, plaintext.length);
    this.#deliverMessages(new PlaintextPieces([plaintext], 1));
  }

  /**
   * A MESSAGES record's envelopes, in one piece or several (a record that spanned socket
   * reads): those wholly inside a piece are read in place; one that straddles two is copied out.
   */
  #deliverMessages(record: PlaintextPieces): void {
    while (!record.atEnd) {
      if (!this.#deliverEnvelopesIn(record) || (!record.atEnd && !this.#deliverStraddling(record))) {
        this.#log.debug("a MESSAGES record with a length that overruns it (or a repeated head with none to repeat, or read after its end closed) was cut short");
        return;
      }
    }
  }

  /** The envelopes that lie wholly in the record's current piece, from where it stands; false for a repeated head with none to repeat. */
  #deliverEnvelopesIn(record: PlaintextPieces): boolean {
    const bytes = record.piece;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let offset = record.offset;
    while (offset + 4 <= bytes.length) {
      const word = view.getUint32(offset);
      const start = offset + 4;
      const end = start + envelopeLength(word);
      if (end > bytes.length) break;
      if (!this.#deliverEnvelope(record, word, bytes, start, end)) return false;
      offset = end;
    }
    record.skipTo(offset);
    return true;
  }

  /** The envelope that starts in one piece and ends in a later one, copied out; false if the record ends first. */
  #deliverStraddling(record: PlaintextPieces): boolean {
    const word = record.readU32();
    if (word < 0) return false;
    const length = envelopeLength(word);
    return record.take(length) && this.#deliverEnvelope(record, word, record.bytes, record.start, record.start + length);
  }

  /**
   * One envelope of a MESSAGES record, `bytes[start, end)` after its length `word`; false for a
   * repeated head with none to repeat, or once this end is no longer open (closed for excess
   * credit, say: the rest of the record is not read).
   */
  #deliverEnvelope(record: PlaintextPieces, word: number, bytes: Uint8Array, start: number, end: number): boolean {
    if (this.#state !== "open") return false;
    if ((word & REPEATED_HEAD) === 0) record.headLength = this.#deliverPlaintext(bytes, start, end);
    else if (record.headLength < 0) return false;
    else this.#deliverRepeated(bytes, start, end, record.headLength);
    return true;
  }

  /**
   * A payload under the same head as the envelope before it: its routes are the decoder's last
   * ones, and its credit is what the sender counted, the head's bytes and the payload's.
   */
  #deliverRepeated(plaintext: Uint8Array, start: number, end: number, headLength: number): void {
    const size = headLength + end - start;
    if (!this.#admit(size)) return;
    const decoder = this.#envelopes!;
    const message = LocalMessage.fromRange(decoder.onwardRoute, decoder.returnRoute, plaintext, start, end, this.#deliveredInfo);
    this.#consumed(size, this.#routeToWorkers(message));
  }

  /** Whether an envelope of `size` bytes may be delivered: the end is open and it is within the peer's credit (else dropped and counted). */
  #admit(size: number): boolean {
    if (this.#state !== "open") return false;
    if (this.#receiveCredit.admit(size)) return true;
    this.#overCredit();
    return false;
  }

  /** The peer's grant or returned credit: more may go now. */
  #onCredit(body: Uint8Array): void {
    const record = decodeCredit(body);
    if (record === undefined || !this.#sendCredit.grant(record)) {
      this.#log.debug(`channel ${this.encryptorAddress.toString()} ignored an invalid CREDIT record`);
      return;
    }
    this.#pump();
  }

  /**
   * One envelope for a local worker. Past the peer's credit it is dropped and counted (and the
   * channel closed if that persists); else it is routed, and its credit goes back at once, or
   * when the mailbox it went to has room again if that is full. Returns the length of its
   * head (u32 payload length included), for envelopes that repeat it, or -1 if it was not
   * delivered.
   */
  #deliverPlaintext(plaintext: Uint8Array, start: number, end: number): number {
    const size = end - start;
    if (!this.#admit(size)) return -1;
    // A stream repeats its head: the decoder then reuses the routes (return route with us in front) it made for the last one.
    // It reads the record in place, and the payload stays a range of it until a worker reads it: no view per envelope.
    const decoder = this.#envelopeDecoder();
    let message: LocalMessage | undefined;
    try {
      decoder.decode(plaintext, start, end);
      const payloadStart = decoder.payloadOffset;
      message = LocalMessage.fromRange(decoder.onwardRoute, decoder.returnRoute, plaintext, payloadStart, payloadStart + decoder.payloadLength, this.#deliveredInfo);
    } catch (error) {
      this.#log.debug(`channel ${this.encryptorAddress.toString()} could not decode a message`, error);
    }
    this.#consumed(size, message === undefined ? undefined : this.#routeToWorkers(message));
    return message === undefined ? -1 : decoder.payloadOffset - start;
  }

  /** Routes a decrypted envelope to local workers; the mailbox it went to, if it did. */
  #routeToWorkers(message: LocalMessage): Mailbox | undefined {
    try {
      const toWorkers = (this.#toWorkers ??= new RouteMemo(this.#node.router, this.producerAddress.key, CHANNEL_REMEMBERED_HOPS));
      // Unknown address, flow-control denial: dropped (reported by the router), and the peer learns nothing.
      return toWorkers.routeOrDrop(message);
    } catch (error) {
      this.#log.debug(`channel ${this.encryptorAddress.toString()} could not deliver a message`, error);
      return undefined;
    }
  }

  /**
   * Makes this end's receive credit independent of the network hops its peer's records go on to
   * (the relay service's registrant channel, which carries a registrant's answers to all its
   * initiators): a record for a full connection or channel is queued there (up to that hop's own
   * bounds, past which a connection closes: that hop's peer's loss) instead of holding this
   * channel's credit. Held, one initiator that read nothing stalled the registrant's answers to
   * every other and its heartbeats, and the registrant's reconnect then closed every initiator's
   * connection.
   */
  shareCredit(): void {
    this.#sharedCredit = true;
    // Nor does a full queue here stop, at once, a connection that feeds it records of several initiators' channels
    // (to other registrants too): each feeder may queue its share past the limits (SharedHold) before it pauses.
    const budget = this.#queue.budget;
    // Never past half the node's send-queue budget: the other half stays for channels that are merely busy.
    const spent = budget === undefined ? () => false : () => budget.bytes >= budget.maxBytes / 2;
    // A hold that pauses a feeder starts the stall clock (see #stallDue): the liveness timer looks then.
    const onPause = (): void => {
      this.#progressAt = performance.now();
      if (this.livenessSlot >= 0) this.#armLiveness(this.#progressAt);
    };
    this.#hold = new SharedHold(this.#queue.bound, SHARED_HOLD_PER_FEEDER_BYTES, SHARED_HOLD_BYTES, spent, onPause);
    this.#encryptorMailbox?.holdWhileFull(this.#hold);
  }

  /** An admitted envelope's credit goes back at once, or when the mailbox it went to has room again if that is full. */
  #consumed(size: number, mailbox: Mailbox | undefined): void {
    if (mailbox?.isFull && mailbox.onRoom && !(this.#sharedCredit && this.#node.flowControls.producerByKey(mailbox.address.key) !== undefined)) {
      this.#receiveCredit.hold(size);
      this.#holdUntilRoom(mailbox);
    } else {
      this.#receiveCredit.consumed(size);
      this.#returnCreditIfDue();
    }
  }

  /** Held credit goes back once every full destination has room (one wait per mailbox). */
  #holdUntilRoom(mailbox: Mailbox): void {
    const full = (this.#fullDestinations ??= new Map());
    if (full.has(mailbox)) return;
    const cancel = mailbox.onRoom!(() => {
      // A wake already under way still calls back after close() (which dropped the map).
      const waiting = this.#fullDestinations;
      waiting?.delete(mailbox);
      if ((waiting !== undefined && waiting.size > 0) || this.#state !== "open") return;
      this.#receiveCredit.release();
      this.#returnCreditIfDue();
    });
    full.set(mailbox, cancel);
  }

  #returnCreditIfDue(): void {
    const record = this.#receiveCredit.due();
    if (record !== undefined && this.#state === "open") this.#sendInner(InnerKind.CREDIT, encodeCredit(record));
  }

  /** The peer ignored its credit: drop and count; past a quarter window of excess, close. */
  #overCredit(): void {
    const credit = this.#receiveCredit;
    if (credit.excessMessages === 1) this.#log.debug(`channel ${this.encryptorAddress.toString()} dropped a message sent past its credit`);
    if (credit.excessPersists) {
      this.#log.warn(`closing channel ${this.encryptorAddress.toString()}: its peer keeps sending past its credit`);
      this.close(new SecureChannelCreditExceededError(`The peer sent ${credit.excessMessages} messages past its credit`));
    }
  }
}

/**
 * Where an inline cipher's MESSAGES plaintext is assembled, reused record after record and by
 * every channel end of this thread: an inline seal has read it by the time it returns (before
 * its sink routes the record, so no other seal can run in between). Fresh buffers per record
 * cost more than the copy on hosts where freed heap goes back to the OS and every new page
 * faults; one per channel end cost 16 KiB of memory for each channel that ever sent.
 */
let sharedJoinScratch: Buffer | undefined;

function joinScratch(length: number): Buffer {
  if (sharedJoinScratch === undefined || sharedJoinScratch.length < length) {
    sharedJoinScratch = Buffer.allocUnsafeSlow(Math.max(length, RECORD_MAX_BYTES));
  }
  return sharedJoinScratch;
}

/** A MESSAGES record's plaintext for `count` envelopes of `bytes` (as EncryptorQueue sizes them): a length word each. */
function plaintextOf(count: number, bytes: number): number {
  return bytes + 4 * count;
}

/**
 * A head from #headOf completed with the payload's length: the envelope head as the far side
 * reads it. For a payload in parts, every part but the last follows it (a portal's kind byte;
 * a larger one is copied here, as a join would), and the last, sealed where it lies, is the rest.
 */
function withPayloadLength(head: Uint8Array, payloadLength: number, parts?: readonly Uint8Array[]): Uint8Array {
  let length = head.length + PAYLOAD_LENGTH_BYTES;
  const leading = parts === undefined ? 0 : parts.length - 1;
  for (let i = 0; i < leading; i++) length += parts![i]!.length;
  const full = Buffer.allocUnsafe(length);
  full.set(head, 0);
  let at = full.writeUInt32BE(payloadLength, head.length);
  for (let i = 0; i < leading; i++) {
    full.set(parts![i]!, at);
    at += parts![i]!.length;
  }
  return full;
}

/** The last of a payload's parts (EMPTY for none). */
function lastPart(parts: readonly Uint8Array[]): Uint8Array {
  return parts.length === 0 ? EMPTY : parts[parts.length - 1]!;
}

/** A hop that refused a message for load (today TcpConnection's BackpressureError), as opposed to a failed route. */
function isRefusedForLoad(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === "TCP_BACKPRESSURE";
}

/** The encryptor address's mailbox: local workers' messages go to the end to be sealed; full while its queue is. */
class EncryptorMailbox implements Mailbox {
  readonly kind = "secure channel";
  #end: ChannelEnd | undefined;
  readonly #bound: MailboxBound;
  /** Set for a channel whose credit is shared (ChannelEnd.shareCredit): what feeders may queue past the bound. */
  #hold: SharedHold | undefined;

  constructor(
    readonly address: Address,
    end: ChannelEnd,
    bound: MailboxBound,
  ) {
    this.#end = end;
    this.#bound = bound;
  }

  holdWhileFull(hold: SharedHold): void {
    this.#hold = hold;
  }

  deliver(message: LocalMessage): void {
    const before = this.#queuedBefore();
    this.#end?.encrypt(message);
    this.#took(message.returnRoute, before);
  }

  /** Mailbox.deliverLent: the payload is copied into the queue's staging memory before this returns. */
  deliverLent(message: LocalMessage): void {
    const before = this.#queuedBefore();
    this.#end?.encryptLent(message);
    this.#took(message.returnRoute, before);
  }

  /** A bytes body lent by a send is copied into the encryptor's queue before `deliverBytes` returns (Mailbox.copiesOnDeliver). */
  readonly copiesOnDeliver = true;

  /** Mailbox.deliverBytes: the body `encodeBody(bytes)`, copied once, into the queue's staging memory. Local info never crosses a channel. */
  deliverBytes(onwardRoute: Route, returnRoute: Route, _localInfo: LocalInfo, bytes: Uint8Array): void {
    const before = this.#queuedBefore();
    this.#end?.encryptLentBytes(onwardRoute, returnRoute, bytes);
    this.#took(returnRoute, before);
  }

  /** The queue's bytes before a delivery, for a shared channel's hold (0 otherwise: nothing read). */
  #queuedBefore(): number {
    return this.#hold === undefined ? 0 : this.#bound.bytes;
  }

  /** A shared channel's hold counts what a delivery grew the queue by, as its bound counts it (routes too). */
  #took(returnRoute: Route, before: number): void {
    this.#hold?.took(returnRoute, this.#bound.bytes - before);
  }

  /** The end closed: messages still routed here (the router no longer does) go nowhere. */
  detach(): void {
    this.#end = undefined;
  }

  /** Full while the queue is, and (for a shared channel) the last feeder has queued its share past it (SharedHold). */
  get isFull(): boolean {
    return this.#bound.isFull && (this.#hold === undefined || this.#hold.feederMustWait());
  }

  /** Mailbox.wouldOverflow: see ChannelEnd.wouldOverflow. */
  wouldOverflow(bytes: number): boolean {
    return this.#end?.wouldOverflow(bytes) === true;
  }

  onRoom(callback: () => void): () => void {
    return this.#bound.onRoom(callback);
  }
}

/** The remote address's mailbox: what the peer sends (handshake messages, ciphertext) goes to the end. */
class RemoteMailbox implements Mailbox {
  #end: ChannelEnd | undefined;

  constructor(
    readonly address: Address,
    end: ChannelEnd,
  ) {
    this.#end = end;
  }

  deliver(message: LocalMessage): void {
    this.#end?.deliverFromPeer(message);
  }

  /** The end closed: see EncryptorMailbox.detach. */
  detach(): void {
    this.#end = undefined;
  }
}

/**
 * `r` over an array of its own, exactly as long as the route: a decoded route's array has
 * room to grow (≈ 0.15 KiB for two hops), and an end keeps its route to the peer for life.
 */
function ownRoute(r: Route): Route {
  const addresses: Address[] = [];
  for (let i = 0; i < r.length; i++) addresses.push(r.at(i)!);
  return new Route(addresses); // copies the array, to its length
}

/**
 * The local info of what channels from one peer deliver, shared by all of them (it is frozen):
 * a node with many channels from the same peer keeps one object and one identifier string,
 * not one of each per channel (≈ 0.15 KiB).
 */
const deliveredInfos = new RecentlyUsed<string, LocalInfo>(256);

function deliveredInfoOf(peer: Identifier): LocalInfo {
  let info = deliveredInfos.get(peer);
  if (info === undefined) deliveredInfos.set(peer, (info = Object.freeze({ [SECURE_CHANNEL_IDENTIFIER]: peer })));
  return info;
}

/** The envelope length in a MESSAGES record's length word (its top bit flags a repeated head). */
function envelopeLength(word: number): number {
  return (word & REPEATED_HEAD) !== 0 ? word & ~REPEATED_HEAD : word;
}

/** Why a watched hop went away: the connection's own reason, which the router's error wraps. */
function hopGoneReason(error: Error): Error {
  return (error.cause as Error | undefined) ?? error;
}
