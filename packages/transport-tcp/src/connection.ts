import type { Socket } from "node:net";
import {
  Address,
  bytesBodyLength,
  checkWaitOptions,
  DecodeError,
  EnvelopeHeadDecoder,
  forEachRepeatedPayload,
  formatHostPort,
  lentBytesMessage,
  LocalMessage,
  MessageRun,
  REPEATED_HEAD_PAYLOADS,
  RoomWaiters,
  Route,
  RouteMemo,
  waitFor,
  type FlowControlId,
  type FlowControls,
  type KeptHeadsBudget,
  type LocalInfo,
  type Logger,
  type Mailbox,
  type Router,
  type WaitOptions,
} from "@hopwire/runtime";
import {
  BackpressureError,
  ConnectionClosedError,
  FirstFrameTimeoutError,
  IdleTimeoutError,
  MalformedFrameError,
  PartialFrameTimeoutError,
  PartialFramesBudgetError,
  SendBufferBudgetError,
  PeerTimeoutError,
  TcpProtocolError,
} from "./errors.js";
import { FrameReader } from "./frame-reader.js";
import { COPY_THRESHOLD, FrameWriter, MAX_HOLD_MS } from "./frame-writer.js";
import { FRAME_HEADER_LENGTH } from "./protocol.js";
import { hostKeyOf } from "./host-key.js";
import type { ResolvedTcpReconnect, ResolvedTcpTransportOptions, TcpLiveness } from "./options.js";

/** What a connection needs from its transport. @internal */
export interface ConnectionHost {
  readonly router: Router;
  readonly flowControls: FlowControls;
  readonly log: Logger;
  readonly limits: ResolvedTcpTransportOptions;
  /** The connection whose sender has this address key, if any (to find who feeds a connection). */
  connectionBySender(key: string): TcpConnection | undefined;
  /**
   * Called when the socket has closed and the connection left the router: `final` once it
   * is closed for good, false when it is about to reconnect.
   */
  onClosed(connection: TcpConnection, reason: ConnectionClosedError, final: boolean): void;
  /** Opens a new socket to the address an outgoing connection was made to (for reconnects). */
  redial(connection: TcpConnection): Promise<Socket>;
  /** Called when a reconnect attached a new socket. */
  onReconnected(connection: TcpConnection): void;
  /** Whether the transport is stopping (no reconnect, no next-hop rule then). */
  isStopping(): boolean;
  /** Bytes of incomplete frames held by all the transport's connections (see maxPartialFrameBytes). */
  readonly partialFrames: { held: number };
  /** What the heads all the transport's connections keep cost together (see KEPT_HEADS_BUDGET). */
  readonly keptHeads: KeptHeadsBudget;
  /**
   * Bytes queued for sending by all the transport's connections (see sendBufferBudget), and the
   * timer of the grace the budget gives a burst (SEND_BUDGET_GRACE_MS), while one runs.
   */
  readonly sendBuffers: { held: number; grace: NodeJS.Timeout | undefined };
  /** The transport's connections (not a copy: only read, when a budget is exceeded, to find the largest holder). */
  connections(): ReadonlySet<TcpConnection>;
  /** The node's Node.afterHandOff (busy polling after a write), if it busy-polls. */
  readonly afterHandOff?: () => void;
}

/**
 * The byte budgets a transport's connections share, by the name of their total in ConnectionHost:
 * incomplete frames (maxPartialFrameBytes) and bytes queued for sending (sendBufferBudget).
 */
type SharedBudget = "partialFrames" | "sendBuffers";

/**
 * How long the connections may hold more than sendBufferBudget (up to twice it) before the
 * largest holders are closed (ms). Bytes queued past the high-water mark count at once, before
 * the socket had a chance to send them: a burst of large messages to peers that read (one 16
 * MiB message to each of 20 of them) went past the default budget and had connections closed
 * whose peers then read everything. Peers that read nothing still hold their bytes after it.
 */
const SEND_BUDGET_GRACE_MS = 1000;

/** How far back a return route is searched for the connection that fed a message. */
const FEEDER_SEARCH_HOPS = 8;

/** The shortest wait between two liveness checks (a loaded loop must not spin on a past deadline). */
const MIN_LIVENESS_TICK_MS = 20;

/** How a connection's flow controls are set up. @internal */
export type ConnectionFlow =
  | {
      mode: "outgoing";
      flowControlId: FlowControlId;
      consumerOf: readonly FlowControlId[];
      /** The "host:port" it was made to (reconnects dial it again). */
      target: string;
      reconnect?: ResolvedTcpReconnect;
    }
  | { mode: "incoming"; flowControlId: FlowControlId; spawnerFlowControlId: FlowControlId };

/** Where a connection is in its life: a live socket, waiting to reconnect, or closed for good. */
export type TcpConnectionState = "open" | "reconnecting" | "closed";

/** Milliseconds a graceful close may take before the socket is destroyed. */
const CLOSE_GRACE_MS = 2000;

/**
 * One TCP connection: a sender (a mailbox at `address`, usable as a route hop) that frames
 * messages onto the socket, and a receiver that reads frames and routes them, as the
 * producer of `flowControlId`.
 */
export class TcpConnection {
  /** The sender's address: route through the connection with `route(connection, ...)`. */
  readonly address: Address;
  /** The receiver's address: the producer that messages from the peer are routed from. */
  readonly receiverAddress: Address;
  /** The flow control id the receiver produces (fresh for each connection). */
  readonly flowControlId: FlowControlId;
  /** For an accepted connection, the listener's spawner flow control id. */
  readonly spawnerFlowControlId: FlowControlId | undefined;
  readonly mode: "outgoing" | "incoming";
  /** For an outgoing connection, the "host:port" it was made to (and reconnects to). */
  readonly target: string | undefined;
  /** The liveness settings in force (keepalive, peer, first-frame and idle timeouts). */
  readonly liveness: Readonly<TcpLiveness>;
  #peer: string;
  /** The peer's host (hostKeyOf: an IPv4 address or an IPv6 /64), whose connections share a part of maxPartialFrameBytes. */
  #hostKey: string;
  #local: string;

  #socket: Socket;
  readonly #host: ConnectionHost;
  readonly #log: Logger;
  #reader = new FrameReader();
  /** Decodes frame heads; its return routes start with this connection's sender. */
  #decoder: EnvelopeHeadDecoder;
  /** Whether a frame with a head came (a repeated-head frame repeats the last one's, which the decoder holds). */
  #headSeen = false;
  readonly #consumerOf: readonly FlowControlId[];
  readonly #reconnect: ResolvedTcpReconnect | undefined;
  #state: TcpConnectionState = "open";
  #reconnects = 0;
  #reconnectTimer: NodeJS.Timeout | undefined;
  readonly #final: Promise<ConnectionClosedError>;
  #resolveFinal!: (reason: ConnectionClosedError) => void;
  readonly #stateWaiters = new Set<() => void>();
  // Liveness: one timer per connection, armed for the earliest deadline.
  #liveTimer: NodeJS.Timeout | undefined;
  /** When the liveness timer is due (Date.now()): how late it fires is how long this process did not run. */
  #liveDue = 0;
  #attachedAt = 0;
  #lastReceived = 0;
  #firstFrameSeen = false;
  /** Who waits for the current socket's first frame (whenPeerSpoke). */
  #firstFrameWaiters: { resolve: () => void; reject: (reason: ConnectionClosedError) => void }[] = [];
  /**
   * Which reconnect attempt opened the current socket (-1: the first socket). A socket that
   * is closed before the peer says anything (a listener at its maxConnections closes it at
   * once) continues the backoff from there instead of starting it over.
   */
  #socketAttempt = -1;
  #messagesIn = 0;
  /** When a message last came in (the read that held it) or went out (see FrameWriter.lastMessageWriteAt): the idle clock. */
  #lastMessageAt = 0;
  /**
   * The next-hop rule (see docs/transport-tcp.md, "When the hop after a relay dies"): for a
   * next hop (an outgoing connection, or an accepted one marked by markNextHop), the accepted
   * connections whose messages were routed into it; for an accepted one, the next hops it fed.
   */
  readonly #fedBy = new Set<TcpConnection>();
  readonly #feeds = new Set<TcpConnection>();
  /** The last return route searched for a feeder (routes decoded from repeated heads are the same object). */
  #lastFeederRoute: Route | undefined;
  /** Outgoing, or marked by markNextHop (a relay service's registrant's): when it closes, its feeders are closed. */
  #nextHop: boolean;
  /** markSharedFeeder: its receiver does not pause for a full connection it feeds. */
  #sharedFeeder = false;
  /** The last onward route checked for a local next hop, and the verdict. */
  #checkedOnward: Route | undefined;
  #deliverable = false;
  /**
   * A run of repeated-head frames read and not yet delivered (see #joinRun): bytes
   * [#runStart, #runEnd) of #runBytes, #runCount frames, all for #runMailbox. It is handed
   * on before any other frame is delivered and at the end of each read.
   */
  #runBytes: Buffer | undefined;
  #runStart = 0;
  #runEnd = 0;
  #runCount = 0;
  #runMailbox: Mailbox | undefined;
  /** #runTargetOf's last answer: for these routes, at this router epoch. */
  #runOnward: Route | undefined;
  #runEpoch = -1;
  #runTarget: Mailbox | undefined;
  #writer: FrameWriter;
  readonly #receiverKey: string;
  /** Where the receiver's last message went: a stream's next messages go straight there. */
  readonly #delivery: RouteMemo;
  #closedReason: ConnectionClosedError | undefined;
  #socketClosed: Promise<void>;
  /** Over the high-water mark: the sender mailbox is full and `needsDrain` is true. */
  #needsDrain = false;
  /** Called once the send buffer is back under the low mark (or the connection closed): the mailbox's `onRoom`. */
  readonly #roomWaiters = new RoomWaiters();
  /** The sender, as the router sees it: it says when it is full, so feeders can wait. */
  readonly #mailbox: Mailbox;
  /**
   * Full mailboxes this connection fed, each with the cancel of its `onRoom`. While any is
   * held the socket is not read, so TCP pushes back on the peer. One mechanism for every
   * kind of mailbox: a worker's, a relay's, another connection's sender.
   */
  readonly #holds = new Map<Mailbox, () => void>();
  /** Frames seen so far, to tell one partial frame from the next. */
  #framesIn = 0;
  /** When the frame in progress started arriving (0: none), and which frame that was. */
  #partialSince = 0;
  #partialFrame = -1;
  /** Bytes of this connection's incomplete frame counted in the host's partialFrames. */
  #heldPartial = 0;
  /** Bytes this connection counts against sendBufferBudget (its writer's bufferedBytes when last counted). */
  #heldSend = 0;
  #partialTimer: NodeJS.Timeout | undefined;

  /** @internal connections are made by TcpTransport.connect and by listeners */
  constructor(socket: Socket, flow: ConnectionFlow, host: ConnectionHost, liveness: TcpLiveness) {
    this.#socket = socket;
    this.#host = host;
    this.mode = flow.mode;
    this.#nextHop = flow.mode === "outgoing";
    this.flowControlId = flow.flowControlId;
    this.spawnerFlowControlId = flow.mode === "incoming" ? flow.spawnerFlowControlId : undefined;
    this.target = flow.mode === "outgoing" ? flow.target : undefined;
    this.#consumerOf = flow.mode === "outgoing" ? flow.consumerOf : [];
    this.#reconnect = flow.mode === "outgoing" ? flow.reconnect : undefined;
    this.liveness = Object.freeze({ ...liveness });
    this.address = Address.random();
    this.receiverAddress = Address.random();
    this.#receiverKey = this.receiverAddress.key;
    this.#delivery = new RouteMemo(host.router, this.#receiverKey);
    this.route = new Route([this.address]);
    this.#decoder = this.#newDecoder();
    this.#peer = formatHostPort(socket.remoteAddress ?? "?", socket.remotePort ?? 0);
    this.#hostKey = hostKeyOf(socket.remoteAddress ?? "?");
    this.#local = formatHostPort(socket.localAddress ?? "?", socket.localPort ?? 0);
    this.#log = host.log;
    this.#writer = new FrameWriter(socket, () => this.#checkDrained(), MAX_HOLD_MS, this.#host.limits.sendHighWaterMark, this.#host.afterHandOff);
    this.#mailbox = this.#createMailbox();
    this.#final = new Promise((resolve) => (this.#resolveFinal = resolve));
    this.#socketClosed = Promise.resolve();
    this.#attach(socket);
    this.#log.debug(`${this.mode} connection ${this.local} <-> ${this.peer} (sender ${this.address.value})`);
  }

  /**
   * Takes a (new) socket into use: flow controls as in Ockam, the sender on the router,
   * the socket's events, the version byte and a first keepalive, the liveness timer.
   */
  #attach(socket: Socket): void {
    this.#socket = socket;
    // The receiver is a producer (spawned by the listener for an accepted connection) with
    // the sender as an alias, so that the flow can be found from the address routes use.
    const flowControls = this.#host.flowControls;
    flowControls.addProducer(this.receiverAddress, this.flowControlId, this.spawnerFlowControlId, [this.address]);
    for (const id of this.#consumerOf) flowControls.addConsumer(this.address, id);
    this.#host.router.register([this.address], this.#mailbox);

    this.#socketClosed = new Promise((resolve) => socket.once("close", () => resolve()));
    socket.setNoDelay(true);
    socket.on("data", this.#onData);
    socket.on("end", this.#onEnd);
    socket.on("error", this.#onError);
    socket.on("close", this.#onClose);
    socket.on("drain", this.#onDrain);
    this.#writer.writeVersion();
    // A live peer's first frame arrives at once, whatever it has to say (see firstFrameTimeout).
    this.#writer.writeKeepalive();
    const now = Date.now();
    this.#attachedAt = now;
    this.#lastReceived = now;
    this.#lastMessageAt = now;
    this.#firstFrameSeen = false;
    const l = this.liveness;
    this.#armLiveTimer(Math.min(l.firstFrameTimeout, l.keepaliveInterval, l.idleTimeout > 0 ? l.idleTimeout : Number.POSITIVE_INFINITY));
  }

  /** A route with this connection as its only hop, so that `route(connection, "echoer")` works. */
  readonly route: Route;

  /** The remote "ip:port" (of the current socket). */
  get peer(): string {
    return this.#peer;
  }

  /** The local "ip:port" (of the current socket). */
  get local(): string {
    return this.#local;
  }

  /** True once the connection is closed for good (a reconnecting connection is not closed). */
  get isClosed(): boolean {
    return this.#state === "closed";
  }

  /** Whether a socket is live now ("open"), one is being re-established ("reconnecting"), or neither ever will be ("closed"). */
  get state(): TcpConnectionState {
    return this.#state;
  }

  /** Sockets re-established after the first one died (see TcpConnectionOptions.withReconnect). */
  get reconnects(): number {
    return this.#reconnects;
  }

  /** Why the (last) socket closed, once one has; its `cause` says why (e.g. a PeerTimeoutError). */
  get closedReason(): ConnectionClosedError | undefined {
    return this.#closedReason;
  }

  /** Bytes waiting to be sent: queued in the connection and in the socket's buffer. */
  get bufferedBytes(): number {
    return this.#closedReason ? 0 : this.#writer.bufferedBytes;
  }

  /**
   * Bytes the current socket has handed to the operating system so far: it grows while the peer
   * reads, however much is queued behind (what `bufferedBytes` cannot tell: a peer that reads
   * slowly while it is fed as fast keeps that level). Starts again from 0 on a new socket.
   */
  get socketBytesSent(): number {
    const socket = this.#writer.socket;
    return Math.max(0, socket.bytesWritten - socket.writableLength);
  }

  /** True while the send buffer is above the high-water mark; wait with `waitForDrain()`. */
  get needsDrain(): boolean {
    return this.#needsDrain;
  }

  /** True while this connection does not read its socket because a mailbox it feeds is full. */
  get readingPaused(): boolean {
    return this.#holds.size > 0;
  }

  /**
   * Resolves when the send buffer is back under half the high-water mark (at once if it
   * is not over the mark). Rejects with ConnectionClosedError if the connection closes first.
   */
  waitForDrain(options: WaitOptions = {}): Promise<void> {
    try {
      checkWaitOptions(options, "waitForDrain options");
    } catch (error) {
      return Promise.reject(error);
    }
    if (this.#closedReason) return Promise.reject(this.#closedReason);
    if (!this.#needsDrain) return Promise.resolve();
    let cancel: (() => void) | undefined;
    return waitFor<void>(
      (resolve, reject) => {
        cancel = this.#onRoom(() => (this.#closedReason ? reject(this.#closedReason) : resolve()));
      },
      { ...options, what: `waiting for the connection to ${this.peer} to drain`, cleanup: () => cancel?.() },
    );
  }

  /**
   * Resolves, with the reason, once the connection is closed for good and its socket has
   * closed (after `stop()`, a peer close, an error or a liveness timeout; for a connection
   * that reconnects, only once it stopped or gave up).
   */
  whenClosed(): Promise<ConnectionClosedError> {
    return this.#final;
  }

  /**
   * Resolves once a socket is live (at once if one is): for a reconnecting connection,
   * when it is back, that is when the peer's first frame came on the new socket (a listener
   * at its maxConnections accepts a socket and closes it at once). Rejects with the reason
   * if the connection closes for good first.
   */
  whenConnected(options: WaitOptions = {}): Promise<void> {
    try {
      checkWaitOptions(options, "whenConnected options");
    } catch (error) {
      return Promise.reject(error);
    }
    if (this.#state === "open" && this.#firstFrameSeen) return Promise.resolve();
    if (this.#state === "closed") return Promise.reject(this.#closedReason);
    let waiter: (() => void) | undefined;
    return waitFor<void>(
      (resolve, reject) => {
        waiter = () => (this.#state === "open" ? resolve() : reject(this.#closedReason));
        this.#stateWaiters.add(waiter);
        this.#refReconnectTimer();
      },
      {
        ...options,
        what: `waiting for the connection to ${this.target ?? this.peer} to reconnect`,
        cleanup: () => {
          if (waiter) this.#stateWaiters.delete(waiter);
          this.#refReconnectTimer();
        },
      },
    );
  }

  /**
   * @internal Resolves when the peer's first frame arrives on the current socket (every
   * Hopwire peer sends a keepalive at once); rejects with the reason if the socket closes
   * first. TcpTransport.connect waits for it, so a listener that turns the client away
   * fails the connect instead of handing back a connection that is already gone.
   */
  whenPeerSpoke(): Promise<void> {
    if (this.#firstFrameSeen) return Promise.resolve();
    if (this.#closedReason) return Promise.reject(this.#closedReason);
    return new Promise((resolve, reject) => this.#firstFrameWaiters.push({ resolve, reject }));
  }

  #onFirstFrame(): void {
    this.#firstFrameSeen = true;
    if (this.#state === "open") this.#wakeStateWaiters();
    const waiters = this.#firstFrameWaiters;
    this.#firstFrameWaiters = [];
    for (const w of waiters) w.resolve();
  }

  /** Sends what is queued, closes the socket and leaves the router; a reconnecting connection stops trying. */
  async stop(): Promise<void> {
    if (this.#state === "reconnecting") {
      this.#giveUp(new ConnectionClosedError(`The connection to ${this.target} was stopped while reconnecting`, { cause: this.#closedReason }));
      return;
    }
    this.#close(new ConnectionClosedError(`The connection to ${this.peer} was stopped`), "end", true);
    await this.#socketClosed;
  }

  /** @internal closes this connection because the hop its traffic was forwarded onto died (the transport's next-hop rule). */
  closeForNextHop(reason: ConnectionClosedError): void {
    this.#close(reason, "end", true);
  }

  /**
   * Whether this connection is a next hop for the next-hop rule (docs/transport-tcp.md, "When
   * the hop after a relay dies"): when it closes, the accepted connections that fed it (and
   * feed no other open next hop) are closed with NextHopClosedError, and it is never closed
   * that way itself. Every outgoing connection is one; an accepted one once `markNextHop()`ed.
   */
  get isNextHop(): boolean {
    return this.#nextHop;
  }

  /**
   * Makes this (accepted) connection a next hop for as long as it is open: a relay that
   * forwards onto it says so (the relay service, for the connection a registration came in
   * on). Between two accepted sides only the relay knows which way is forward: replies
   * going back must never make a registrant's connection a feeder that an initiator's death closes.
   */
  markNextHop(): void {
    this.#nextHop = true;
  }

  /**
   * Makes this connection's receiver a shared feeder: it does not stop reading its socket because
   * one of the connections it routes into is full, and what it routes into one past that one's
   * `maxSendBufferBytes` closes that one (`SendBufferBudgetError`), as a secure channel end's
   * delivery does. A relay service marks a registrant's connection that carries its forwarded
   * traffic itself (`forwardOver: "connection"`): the registrant's answers to one initiator that
   * reads nothing must not hold up its answers to all the others, nor its channel's heartbeats,
   * which come on the same connection. Its answers to each initiator stay bounded by that initiator's
   * channels' credit. It still pauses for any other full mailbox (a worker, a relay), and for another
   * shared feeder: what it sends there is traffic to that registrant, which may not push that
   * registrant's connection past its bound (before, a registrant that had used another's forwarder once
   * could send straight to that one's connection until it was closed).
   */
  markSharedFeeder(shared = true): void {
    // false: an ordinary feeder again (the relay service's registration that marked it is gone).
    this.#sharedFeeder = shared;
  }

  /** Whether `markSharedFeeder()` was called. */
  get isSharedFeeder(): boolean {
    return this.#sharedFeeder;
  }

  /**
   * Closes this connection at once, dropping what is queued for it (`stop()` sends it first):
   * for a peer that reads nothing, whose queue would never drain. `cause` is logged at warn and
   * is the cause of the close reason.
   */
  abort(cause: Error): void {
    if (this.#closedReason) return;
    this.#log.warn(`closing the connection to ${this.peer}`, cause);
    this.#close(new ConnectionClosedError(`Closed the connection to ${this.peer}: ${cause.message}`, { cause }), "destroy", true);
  }

  /**
   * Records that a message with `returnRoute` was forwarded onto this connection through a
   * local worker that hides it from what is queued here (a secure channel puts its own
   * address on the records it sends): the nearest connection on the route fed this next hop,
   * as if the message had been queued here as it was.
   */
  noteFedBy(returnRoute: Route): void {
    if (this.#nextHop && this.#state === "open" && returnRoute !== this.#lastFeederRoute) this.#noteFeeder(returnRoute);
  }

  /** @internal the connections related by the next-hop rule (see #fedBy). */
  get fedBy(): ReadonlySet<TcpConnection> {
    return this.#fedBy;
  }

  /** @internal */
  get feeds(): ReadonlySet<TcpConnection> {
    return this.#feeds;
  }

  /** "TcpConnection(mode peer, sender address)", for logs. */
  toString(): string {
    return `TcpConnection(${this.mode} ${this.peer}, sender ${this.address.value})`;
  }

  // ---- sending -------------------------------------------------------------------------

  /**
   * The sender's mailbox. Full over the high-water mark (`needsDrain`), room again under
   * half of it: a context's send waits on it, a connection or relay feeding it stops reading.
   */
  #createMailbox(): Mailbox {
    return new TcpConnection.#SenderMailbox(this);
  }

  /**
   * A class, not an object literal: V8 keeps a literal that has a getter in dictionary mode,
   * and every load from it (isFull and deliver, for every message sent) took the slow path
   * (~10 ns instead of ~1).
   */
  static readonly #SenderMailbox = class SenderMailbox implements Mailbox {
    readonly address: Address;
    constructor(readonly connection: TcpConnection) {
      this.address = connection.address;
    }
    deliver(message: LocalMessage, senderKey?: string): void {
      this.connection.#send(message, false, senderKey);
    }
    /** Mailbox.deliverLent: the payload is copied into the write buffer (past 32 KiB, into a buffer of its own) before this returns. */
    deliverLent(message: LocalMessage, senderKey?: string): void {
      this.connection.#send(message, true, senderKey);
    }
    /** A bytes body lent by a send is copied into the write buffer before `deliverBytes` returns (Mailbox.copiesOnDeliver). */
    readonly copiesOnDeliver = true;
    /** Mailbox.deliverBytes: the frame of `encodeBody(bytes)`, the bytes copied once, into the write buffer. Local info never crosses a transport. */
    deliverBytes(onwardRoute: Route, returnRoute: Route, _localInfo: LocalInfo, bytes: Uint8Array): void {
      this.connection.#sendBytes(onwardRoute, returnRoute, bytes);
    }
    deliverRun(run: MessageRun): boolean {
      return this.connection.#sendRun(run);
    }
    /** A closed connection is not full: it is gone, and routing to it fails. */
    get isFull(): boolean {
      return this.connection.#needsDrain && this.connection.#closedReason === undefined;
    }
    onRoom(callback: () => void): () => void {
      return this.connection.#onRoom(callback);
    }
  };

  /** Calls `callback` once there is room again (or the connection has closed); returns its cancel. */
  #onRoom(callback: () => void): () => void {
    return this.#roomWaiters.add(callback, this.#needsDrain && !this.#closedReason);
  }

  /**
   * Queues a message. Over the high-water mark the mailbox says it is full and feeders
   * that honour it wait; the hard bound (`maxSendBufferBytes`) is the protection against
   * a feeder that ignores it: the message is refused with BackpressureError. `lent`: its
   * payload is the caller's until this returns, and is copied (FrameWriter.enqueue).
   */
  #send(message: LocalMessage, lent = false, senderKey?: string): void {
    if (this.#closedReason) throw this.#closedReason;
    if (this.#passesHardBound(message.payloadLength)) {
      this.#needsDrain = true;
      // From the network (a relay service's registrant channel, which does not wait for a full
      // initiator connection: shareSecureChannelCredit): nobody would be told of a drop, and a
      // message cut from the middle of the peer's streams (its secure channels' records) would be
      // lost without a word. The peer, which read nothing while that much came, loses the connection instead.
      // Not for another connection of this transport routing straight here: it pauses on isFull, so it
      // overshoots by one socket read at most, and a bound set that close to the mark (the two equal,
      // as Backpressure 4 allows) refuses the message as documented; a peer that reads keeps its connection.
      if (senderKey !== undefined && this.#host.flowControls.isProducerKey(senderKey) && !this.#fedStraightByConnection(message, senderKey)) {
        this.#protocolError(
          new SendBufferBudgetError(
            `The peer ${this.peer} had ${this.#writer.bufferedBytes} bytes waiting to be sent to it, and a message forwarded from the network would take them past maxSendBufferBytes (${this.#host.limits.maxSendBufferBytes})`,
          ),
        );
        throw this.#closedReason ?? new BackpressureError(`The connection to ${this.peer} closed: it read too little`);
      }
      throw new BackpressureError(
        `The connection to ${this.peer} has ${this.#writer.bufferedBytes} bytes waiting to be sent (limit ${this.#host.limits.maxSendBufferBytes}); wait for it to drain`,
      );
    }
    this.#writer.enqueue(message, lent);
    this.#afterQueued(message.returnRoute);
    // Closed by what it queued (the send budget): the message may never go out, and its sender is told.
    if (this.#closedReason) throw this.#closedReason;
  }

  /**
   * Whether `senderKey` is the receiver of the connection that put itself first on the message's
   * return route: a connection of this transport routing what it read straight here.
   */
  #fedStraightByConnection(message: LocalMessage, senderKey: string): boolean {
    const first = message.returnRoute.at(0);
    const feeder = first === undefined ? undefined : this.#host.connectionBySender(first.key);
    // A shared feeder does not pause on isFull: what it routes here past the bound is as a channel end's. Not into
    // another shared feeder: that is a registrant's forwarded traffic, which any feeder waits for (markSharedFeeder).
    return feeder !== undefined && feeder.#receiverKey === senderKey && (!feeder.#sharedFeeder || this.#sharedFeeder);
  }

  /** A decoder for a new socket's frames: replies go back through this connection; kept heads count against the transport's budget. */
  #newDecoder(): EnvelopeHeadDecoder {
    return new EnvelopeHeadDecoder({ returnPrefix: this.address, keptHeadsBudget: this.#host.keptHeads });
  }

  /** Whether `bytes` more would take what is queued past `maxSendBufferBytes` (a first message always fits). */
  #passesHardBound(bytes: number): boolean {
    const buffered = this.#writer.bufferedBytes;
    return buffered > 0 && buffered + bytes > this.#host.limits.maxSendBufferBytes;
  }

  /**
   * Queues a message whose body is the lent `bytes`: written straight into the write buffer when
   * it repeats the last frame's routes (a stream), else as a message whose parts are copied.
   */
  #sendBytes(onwardRoute: Route, returnRoute: Route, bytes: Uint8Array): void {
    if (this.#closedReason || this.#passesHardBound(bytesBodyLength(bytes)) || !this.#writer.enqueueBytesBody(onwardRoute, returnRoute, bytes)) {
      // #send throws what applies (closed, over the hard bound), or writes the frame with its head.
      return this.#send(lentBytesMessage(onwardRoute, returnRoute, bytes), true);
    }
    this.#afterQueued(returnRoute);
    if (this.#closedReason) throw this.#closedReason;
  }

  /**
   * Queues a run of another connection's frames as they arrived (a relay's stream), if the
   * writer can take them as they are and they fit under the hard bound; else false, and
   * they come through #send one by one (which throws what applies).
   */
  #sendRun(run: MessageRun): boolean {
    if (this.#closedReason) return false;
    if (this.#passesHardBound(run.end - run.start)) return false;
    if (!this.#writer.enqueueRun(run)) return false;
    this.#afterQueued(run.returnRoute);
    return true;
  }

  /** After a message (or run) was queued: who fed it (next-hop rule), and whether the mailbox is full now. */
  #afterQueued(returnRoute: Route): void {
    // Closed while it queued (an early flush that went past twice the send budget): nothing to note.
    if (this.#closedReason) return;
    if (this.#nextHop && returnRoute !== this.#lastFeederRoute) this.#noteFeeder(returnRoute);
    const buffered = this.#writer.bufferedBytes;
    const overHighWater = buffered > this.#host.limits.sendHighWaterMark;
    if (overHighWater) this.#overHighWater(returnRoute);
    if (overHighWater || this.#writer.blocked) this.#holdSend(buffered);
  }

  /**
   * Remembers which accepted connection this message came from, if it came from one: the
   * nearest connection sender on its return route (the receiver put it there; the
   * built-in relay and the hello Relay keep it first, a Hop puts itself in front of it).
   */
  #noteFeeder(returnRoute: Route): void {
    this.#lastFeederRoute = returnRoute;
    const n = Math.min(returnRoute.length, FEEDER_SEARCH_HOPS);
    for (let i = 0; i < n; i++) {
      const key = returnRoute.at(i)!.key;
      const feeder = this.#host.connectionBySender(key);
      if (feeder === undefined) {
        // Another hop from the network (a secure channel's end, a remote relay): what follows it on the
        // return route came from its peer, who could name any connection here (a registrant naming
        // another client's connection, then closing its own, had the rule close that client's). Its
        // own first hop, if it fed this one, is reported by whoever forwards (noteFedBy). A connection or
        // channel that closed while its message waited (in a worker's queue, a thread) is one still:
        // its peer wrote what follows it too (isNetworkKey remembers the hops that went lately).
        if (this.#host.flowControls.isNetworkKey(key)) return;
        continue;
      }
      if (feeder !== this && feeder.mode === "incoming" && !this.#fedBy.has(feeder)) {
        this.#fedBy.add(feeder);
        feeder.#feeds.add(this);
      }
      return;
    }
  }

  /**
   * Too much is queued: the mailbox is full from now on. A feeder that routed straight
   * into it sees that in what `router.route` returned. A message that came from another
   * connection through a worker that does not wait for room (e.g. a hello Relay on an
   * unbounded mailbox) is recognised by its return route, which starts with that
   * connection's sender (receivers prepend it); that connection then waits for room
   * here the same way.
   */
  #overHighWater(returnRoute: Route): void {
    this.#needsDrain = true;
    const previous = returnRoute.at(0);
    if (!previous) return;
    const feeder = this.#host.connectionBySender(previous.key);
    if (feeder && feeder !== this) feeder.#pauseUntilRoom(this.#mailbox);
  }

  #checkDrained(): void {
    if (this.#closedReason) return;
    const buffered = this.#writer.bufferedBytes;
    this.#holdSend(buffered);
    if (!this.#needsDrain) return;
    if (this.#writer.blocked || buffered > this.#host.limits.sendHighWaterMark / 2) return;
    this.#needsDrain = false;
    this.#roomWaiters.wake();
  }

  /** Stops reading the socket until `mailbox` has room; several mailboxes may hold it at once. */
  #pauseUntilRoom(mailbox: Mailbox): void {
    if (this.#closedReason || this.#holds.has(mailbox) || mailbox.onRoom === undefined) return;
    // A shared feeder does not wait for one connection it feeds (markSharedFeeder): that one queues to its bound.
    // It waits for another shared feeder, as any feeder does: that one carries a registrant's forwarded traffic.
    if (this.#sharedFeeder) {
      const fed = this.#host.connectionBySender(mailbox.address.key);
      if (fed !== undefined && !fed.#sharedFeeder) return;
    }
    this.#holds.set(mailbox, noop);
    const cancel = mailbox.onRoom(() => this.#roomIn(mailbox));
    // onRoom should call back later, but if it already did there is nothing to hold.
    if (!this.#holds.has(mailbox)) return;
    this.#holds.set(mailbox, cancel);
    if (this.#holds.size === 1) {
      this.#socket.pause();
      this.#suspendPartialTimer();
      this.#log.debug(`paused reading ${this.peer}: ${mailbox.address.toString()} is full`);
    }
  }

  #roomIn(mailbox: Mailbox): void {
    if (!this.#holds.delete(mailbox) || this.#holds.size > 0 || this.#closedReason) return;
    this.#socket.resume();
    this.#lastReceived = Date.now(); // our own pause hid the peer: its silence counts from now
    this.#resumePartialTimer();
    this.#log.debug(`resumed reading ${this.peer}`);
  }

  #releaseHolds(): void {
    for (const cancel of this.#holds.values()) cancel();
    this.#holds.clear();
  }

  readonly #onDrain = (): void => {
    this.#writer.onDrain();
  };

  // ---- receiving -----------------------------------------------------------------------

  readonly #onData = (chunk: Buffer): void => {
    const now = Date.now();
    this.#lastReceived = now;
    const messagesBefore = this.#messagesIn;
    try {
      this.#reader.push(chunk, this.#onFrame, this.#onPieces);
      if (this.#messagesIn !== messagesBefore) this.#lastMessageAt = now;
    } catch (error) {
      // The frames before the bad one were good: they go on before the connection closes.
      this.#deliverRun();
      this.#protocolError(error);
      return;
    }
    this.#deliverRun();
    // The chunk's frames are read: an idle connection keeps no read buffer alive (messages still queued keep their own).
    this.#decoder.release();
    if (this.#closedReason) return;
    if (this.#reader.midFrame) this.#partialFrameStarted();
    else this.#partialSince = 0;
    this.#holdPartial(this.#reader.heldBytes);
  };

  /**
   * Counts this connection's incomplete frame against the transport's budget. Growing the
   * total past it closes connections of the host holding the most, its largest incomplete
   * frame first, not simply this one: else a peer holding most of the budget would get the
   * connections of others closed, whose ordinary frames merely span two reads.
   */
  #holdPartial(held: number): void {
    const delta = held - this.#heldPartial;
    if (delta === 0) return;
    this.#heldPartial = held;
    const total = this.#host.partialFrames;
    total.held += delta;
    if (delta > 0 && total.held > this.#host.limits.maxPartialFrameBytes) this.#closeOverBudget("partialFrames");
  }

  /**
   * Counts the bytes queued for this connection's socket (here and in the socket's buffer)
   * against the transport's budget, as #holdPartial does. Called after each flush and write
   * completion, and after a message is queued while the socket cannot take it (#afterQueued):
   * the bytes of a turn that will be flushed count at its end.
   */
  #holdSend(held: number): void {
    // A closed connection counts nothing (what its socket still held went with the close).
    if (this.#closedReason !== undefined && held !== 0) return;
    const delta = held - this.#heldSend;
    if (delta === 0) return;
    this.#heldSend = held;
    const total = this.#host.sendBuffers;
    total.held += delta;
    if (delta > 0) {
      if (total.held > this.#host.limits.sendBufferBudget) this.#overSendBudget();
    } else if (total.grace !== undefined && total.held <= this.#host.limits.sendBufferBudget) this.#endSendGrace();
  }

  /**
   * The connections hold more than sendBufferBudget: past twice it, the largest holders are
   * closed now; up to that, if it still holds once SEND_BUDGET_GRACE_MS have passed (one timer
   * for the transport), so that a burst the peers read goes through.
   */
  #overSendBudget(): void {
    if (this.#host.isStopping()) return; // every connection is closing
    const total = this.#host.sendBuffers;
    if (total.held > 2 * this.#host.limits.sendBufferBudget) {
      this.#closeOverBudget("sendBuffers");
      return;
    }
    if (total.grace !== undefined) return;
    total.grace = setTimeout(() => {
      total.grace = undefined;
      this.#judgeSendBudget();
    }, SEND_BUDGET_GRACE_MS);
    total.grace.unref();
  }

  /** The total is within the budget again before the grace ended: a later overrun gets a whole grace of its own. */
  #endSendGrace(): void {
    const total = this.#host.sendBuffers;
    clearTimeout(total.grace);
    total.grace = undefined;
    this.#log.debug(`the connections' queued bytes went past sendBufferBudget (${this.#host.limits.sendBufferBudget}) and are within it again (${total.held})`);
  }

  /** The grace is over, the total still past the budget: the largest holders go (judged by this connection, or another open one if it has closed). */
  #judgeSendBudget(): void {
    if (this.#host.sendBuffers.held <= this.#host.limits.sendBufferBudget) return; // cannot happen: #endSendGrace clears the timer
    if (this.#closedReason === undefined) return this.#closeOverBudget("sendBuffers");
    for (const c of this.#host.connections()) {
      if (c.#closedReason === undefined && c.#heldSend > 0) return c.#closeOverBudget("sendBuffers");
    }
  }

  /**
   * This connection took the transport past `budget`: the connection holding the most of the
   * host that holds the most (this connection's host, and this connection, on a tie: it asked
   * for more) is closed, and again until the total is within the budget. By host first, so
   * that a host splitting its bytes over many connections, each smaller than another peer's
   * one large frame, loses its own. A close releases its bytes from the total at once
   * (#holdPartial(0), #holdSend(0)). A look at every connection, but only on this path; each
   * read or send costs only the comparison in #holdPartial or #holdSend.
   */
  #closeOverBudget(budget: SharedBudget): void {
    const limits = this.#host.limits;
    const max = budget === "partialFrames" ? limits.maxPartialFrameBytes : limits.sendBufferBudget;
    const total = this.#host[budget];
    while (total.held > max) {
      const { connection, hostHeld } = this.#largestOfBusiestHost(budget);
      // Cannot happen (a total past the budget is held by open connections, and a close releases
      // its share), but a loop that closed nothing would never end.
      if (connection.#heldOf(budget) === 0 || connection.#closedReason !== undefined) return;
      // Closing another connection from inside this one's data handler or send is safe: its
      // close takes its socket's handlers off, so nothing of it runs later; if the close takes
      // this connection with it (the next-hop rule), its caller finds it closed.
      connection.#protocolError(connection.#overBudgetError(budget, hostHeld, total.held, max));
    }
  }

  /** What this connection holds of `budget`. */
  #heldOf(budget: SharedBudget): number {
    return budget === "partialFrames" ? this.#heldPartial : this.#heldSend;
  }

  /** Why this connection is closed for `budget` (`hostHeld`: what its host's connections held together). */
  #overBudgetError(budget: SharedBudget, hostHeld: number, total: number, max: number): PartialFramesBudgetError | SendBufferBudgetError {
    if (budget === "partialFrames") {
      return new PartialFramesBudgetError(
        `The peer ${this.peer} held ${this.#heldPartial} bytes of an incomplete frame, the most of its host's connections, whose incomplete frames came to ${hostHeld} bytes, the most of any host, when the transport's came to ${total} bytes: past maxPartialFrameBytes (${max})`,
      );
    }
    return new SendBufferBudgetError(
      `The peer ${this.peer} had ${this.#heldSend} bytes waiting to be sent to it, the most of its host's connections, whose queued bytes came to ${hostHeld}, the most of any host, when the transport's came to ${total} bytes: past sendBufferBudget (${max})`,
    );
  }

  /** The host holding the most of `budget` (ties: this connection's), its total, and its connection holding the most (ties: this one). */
  #largestOfBusiestHost(budget: SharedBudget): { connection: TcpConnection; hostHeld: number } {
    const heldBy = (c: TcpConnection): number => c.#heldOf(budget);
    const hosts = new Map<string, { held: number; largest: TcpConnection }>();
    const count = (c: TcpConnection): void => {
      const host = hosts.get(c.#hostKey);
      if (host === undefined) hosts.set(c.#hostKey, { held: heldBy(c), largest: c });
      else {
        host.held += heldBy(c);
        if (heldBy(c) > heldBy(host.largest)) host.largest = c;
      }
    };
    count(this); // first: it keeps its place on a tie
    for (const c of this.#host.connections()) if (c !== this && heldBy(c) > 0) count(c);
    let busiest = hosts.get(this.#hostKey)!;
    for (const host of hosts.values()) if (host.held > busiest.held) busiest = host;
    return { connection: busiest.largest, hostHeld: busiest.held };
  }

  readonly #onFrame = (bytes: Buffer, start: number, end: number, repeatsHead: boolean): boolean => {
    this.#framesIn++;
    if (!this.#firstFrameSeen) this.#onFirstFrame();
    // A keepalive (KEEPALIVE_FRAME_LENGTH): its bytes already counted as a sign of life.
    if (end === start && !repeatsHead) return true;
    this.#messagesIn++;
    if (repeatsHead && this.#joinRun(bytes, start, end)) return true;
    this.#deliverRun();
    if (this.#closedReason) return false;
    this.#deliverFrame(bytes, this.#readHead(bytes, start, end, repeatsHead), end);
    return this.#closedReason === undefined;
  };

  /**
   * Reads the head of the frame `bytes[start, end)` into the decoder (a repeated-head frame
   * keeps the last one) and returns where its payload starts. `envelopeEnd`: where the frame
   * ends when `bytes` holds only its first piece. Throws MalformedFrameError.
   */
  #readHead(bytes: Buffer, start: number, end: number, repeatsHead: boolean, envelopeEnd = end): number {
    if (repeatsHead) {
      if (!this.#headSeen) throw new MalformedFrameError("A repeated-head frame came before any frame with a head");
      return start;
    }
    try {
      this.#decoder.decode(bytes, start, end, envelopeEnd);
    } catch (error) {
      // The connection closes with TCP_FRAME_MALFORMED; the codec's message never quotes the bytes.
      if (error instanceof DecodeError) throw new MalformedFrameError(`The frame does not hold a valid network envelope: ${error.message}`, { cause: error });
      throw error;
    }
    this.#headSeen = true;
    return this.#decoder.payloadOffset;
  }

  /**
   * A frame that spanned socket reads, in its pieces (FrameReader): a long one whose head lies
   * in its first piece goes on with its payload in parts (LocalMessage.fromParts), not joined:
   * a secure channel's ~64 KiB records nearly all span two reads, and its end decrypts the
   * parts as they are. Anything else is joined and read as any frame.
   */
  readonly #onPieces = (pieces: readonly Buffer[], length: number, repeatsHead: boolean): boolean => {
    if (length < COPY_THRESHOLD) return this.#onFrame(Buffer.concat(pieces, length), 0, length, repeatsHead);
    // The run before it goes first: it is delivered under the decoder's routes, which a head changes.
    this.#deliverRun();
    if (this.#closedReason) return false;
    const first = pieces[0]!;
    let payloadOffset: number;
    try {
      payloadOffset = this.#readHead(first, 0, first.length, repeatsHead, length);
    } catch {
      // The head runs past the first piece, or the frame is malformed: joined, it is read as any frame (which throws what is wrong).
      return this.#onFrame(Buffer.concat(pieces, length), 0, length, repeatsHead);
    }
    this.#framesIn++;
    if (!this.#firstFrameSeen) this.#onFirstFrame();
    this.#messagesIn++;
    const parts = payloadOffset < first.length ? [first.subarray(payloadOffset), ...pieces.slice(1)] : pieces.slice(1);
    if (this.#isDeliverable()) this.#route(LocalMessage.fromParts(this.#decoder.onwardRoute, this.#decoder.returnRoute, parts));
    return this.#closedReason === undefined;
  };

  /** Delivers one message: the payload `bytes[payloadStart, end)` under the routes the decoder holds. */
  #deliverFrame(bytes: Buffer, payloadStart: number, end: number): void {
    if (!this.#isDeliverable()) return;
    // The return route already starts with this connection's sender, so replies come back through it.
    // The payload stays a range of the frame's bytes: a relay that passes it on copies it from there, no view made.
    this.#route(LocalMessage.fromRange(this.#decoder.onwardRoute, this.#decoder.returnRoute, bytes, payloadStart, end));
  }

  /**
   * Whether the routes the decoder holds lead somewhere a peer may send to (logged if not). A
   * repeated-head frame goes where the last head said: the decoder still holds its routes.
   */
  #isDeliverable(): boolean {
    const onward = this.#decoder.onwardRoute;
    // Routes are immutable and the decoder hands back the same route for a repeated head.
    if (onward !== this.#checkedOnward) {
      const next = onward.at(0);
      this.#checkedOnward = onward;
      this.#deliverable = next !== undefined && next.isLocal;
    }
    if (!this.#deliverable) {
      // Nothing to deliver to, or a hop on another transport: a peer may not make this node dial out.
      const next = onward.at(0);
      this.#log.debug(`dropped a message from ${this.peer}: its next hop is ${next ? next.toString() : "missing"}`);
    }
    return this.#deliverable;
  }

  /** Routes a message read from the peer; pauses reading while the mailbox it went to is full. */
  #route(message: LocalMessage): void {
    const onward = message.onwardRoute;
    let mailbox: Mailbox | undefined;
    try {
      // Denied by flow controls or unknown: dropped alike (reported by the router), and the peer is told nothing.
      mailbox = this.#delivery.routeOrDrop(message);
    } catch (error) {
      this.#log.debug(`dropped a message from ${this.peer} to ${onward.next().toString()}`, error);
    }
    // The mailbox took the message but is full now: read no more until it has room. The
    // rest of the chunk in hand is still delivered (a mailbox accepts past its mark), so
    // the overshoot per connection is at most one socket read (64 KiB).
    if (mailbox !== undefined && mailbox.isFull === true) this.#pauseUntilRoom(mailbox);
  }

  /**
   * Takes a repeated-head frame into the run of frames read and not yet delivered, if it can
   * go on as it is: the last message went to a mailbox that takes runs (a relay, another
   * connection's sender, a worker's), the frame is short enough to be copied on (COPY_THRESHOLD), and
   * its length word lies before it in the same read. False: it is delivered on its own.
   */
  #joinRun(bytes: Buffer, start: number, end: number): boolean {
    if (start < FRAME_HEADER_LENGTH || end - start >= COPY_THRESHOLD) return false;
    const at = start - FRAME_HEADER_LENGTH;
    if (this.#runCount > 0) {
      if (bytes === this.#runBytes && at === this.#runEnd) {
        this.#runEnd = end;
        this.#runCount++;
        return true;
      }
      this.#deliverRun();
      if (this.#closedReason) return false;
    }
    const mailbox = this.#runTargetOf(this.#decoder.onwardRoute);
    if (mailbox === undefined) return false;
    this.#runMailbox = mailbox;
    this.#runBytes = bytes;
    this.#runStart = at;
    this.#runEnd = end;
    this.#runCount = 1;
    return true;
  }

  /**
   * Where runs of frames with these routes go: where this connection's last message went (the
   * same routes, already checked and routed), if that mailbox takes runs; else undefined. A
   * settled "no" is kept while the routes stay the same, so that a stream to a worker pays a
   * comparison per frame for asking; a "yes" while the router's epoch stays the same too.
   */
  #runTargetOf(onward: Route): Mailbox | undefined {
    if (onward === this.#runOnward) {
      // A settled "no" holds for these routes (delivering one by one is always right); a "yes" only while nothing changed.
      const target = this.#runTarget;
      if (target === undefined || this.#host.router.epoch === this.#runEpoch) return target;
    }
    if (!this.#headSeen || onward !== this.#checkedOnward) return undefined;
    const epoch = this.#host.router.epoch;
    let target: Mailbox | undefined;
    if (this.#deliverable) {
      // Not routed at this epoch yet (e.g. the first message opened a flow): asked again next frame.
      const mailbox = this.#delivery.peek(onward.next());
      if (mailbox === undefined) return undefined;
      if (mailbox.deliverRun !== undefined) target = mailbox;
    }
    this.#runOnward = onward;
    this.#runEpoch = epoch;
    this.#runTarget = target;
    return target;
  }

  /** Hands the run on in one call; if its mailbox refuses it, its frames are delivered one by one. */
  #deliverRun(): void {
    const count = this.#runCount;
    if (count === 0) return;
    const bytes = this.#runBytes!;
    const mailbox = this.#runMailbox!;
    const start = this.#runStart;
    const end = this.#runEnd;
    this.#runCount = 0;
    this.#runBytes = undefined;
    this.#runMailbox = undefined;
    const decoder = this.#decoder;
    if (mailbox.deliverRun!(new MessageRun(decoder.onwardRoute, decoder.returnRoute, count, bytes, start, end, REPEATED_HEAD_PAYLOADS))) {
      if (mailbox.isFull === true) this.#pauseUntilRoom(mailbox);
      return;
    }
    forEachRepeatedPayload(bytes, start, end, (payloadStart, payloadEnd) => {
      this.#deliverFrame(bytes, payloadStart, payloadEnd);
      return this.#closedReason === undefined;
    });
  }

  // ---- liveness ------------------------------------------------------------------------

  #armLiveTimer(ms: number): void {
    if (this.#liveTimer !== undefined) clearTimeout(this.#liveTimer);
    const delay = Math.max(MIN_LIVENESS_TICK_MS, ms);
    this.#liveDue = Date.now() + delay;
    this.#liveTimer = setTimeout(this.#onLiveTimer, delay);
    this.#liveTimer.unref();
  }

  /**
   * Checks every liveness deadline, acts on the ones that passed, and sleeps until the
   * next: the first frame, the peer's silence, the idle time, the keepalive due.
   */
  readonly #onLiveTimer = (): void => {
    this.#liveTimer = undefined;
    if (this.#closedReason) return;
    const now = Date.now();
    const l = this.liveness;
    this.#creditStall(now);
    let next = Number.POSITIVE_INFINITY;
    if (!this.#firstFrameSeen) {
      const left = this.#attachedAt + l.firstFrameTimeout - now;
      if (left <= 0) {
        // A Hopwire peer sends one at once: a server that answers nothing to our version byte and keepalive looks like this from the dialling side
        // (an HTTP server is not one: it answers them with a 400 response, whose first byte fails the version check at once).
        const hint = this.mode === "outgoing" ? " (a Hopwire node sends one at once: is the peer one, or a server that answers nothing to what this node sent?)" : "";
        this.#closeForLiveness(new FirstFrameTimeoutError(`The peer ${this.peer} sent no complete first frame within ${l.firstFrameTimeout} ms${hint}`));
        return;
      }
      next = Math.min(next, left);
    }
    if (this.#holds.size > 0) {
      // This node is not reading: the peer's silence cannot be seen, so it does not count.
      this.#lastReceived = now;
    }
    const silent = now - this.#lastReceived;
    if (silent >= l.peerTimeout) {
      this.#closeForLiveness(new PeerTimeoutError(`The peer ${this.peer} sent nothing for ${silent} ms (peerTimeout ${l.peerTimeout} ms)`));
      return;
    }
    next = Math.min(next, l.peerTimeout - silent);
    const writer = this.#writer;
    if (l.idleTimeout > 0) {
      // Messages waiting for the socket keep the connection busy; the rest count from when they were read or written.
      this.#lastMessageAt = Math.max(this.#lastMessageAt, writer.messagesWaiting ? now : writer.lastMessageWriteAt);
      const idle = now - this.#lastMessageAt;
      if (idle >= l.idleTimeout) {
        this.#closeForLiveness(new IdleTimeoutError(`The connection to ${this.peer} carried no message for ${idle} ms (idleTimeout ${l.idleTimeout} ms)`));
        return;
      }
      next = Math.min(next, l.idleTimeout - idle);
    }
    const sinceWrite = now - writer.lastWriteAt;
    if (sinceWrite >= l.keepaliveInterval) {
      // Bytes already waiting reach the peer as soon as it reads; a keepalive would only queue behind them.
      if (writer.bufferedBytes === 0) writer.writeKeepalive();
      next = Math.min(next, l.keepaliveInterval);
    } else next = Math.min(next, l.keepaliveInterval - sinceWrite);
    // The arenas a busy spell kept for reuse go once a tick passes without one taken.
    writer.trimSpares();
    this.#armLiveTimer(next);
  };

  /**
   * The liveness clocks stop while this process does not run (a long GC, a blocking call, a
   * starved CPU): the timers run before the poll phase reads what the peer sent meanwhile, and
   * a peer that shares the stall has sent nothing. The timer's lateness measures the stall.
   */
  #creditStall(now: number): void {
    const stalled = now - this.#liveDue;
    if (stalled <= 0) return;
    this.#attachedAt = Math.min(now, this.#attachedAt + stalled);
    this.#lastReceived = Math.min(now, this.#lastReceived + stalled);
    this.#lastMessageAt = Math.min(now, this.#lastMessageAt + stalled);
  }

  #closeForLiveness(cause: Error): void {
    this.#log.debug(`closing the connection to ${this.peer}: ${cause.message}`);
    this.#close(new ConnectionClosedError(`Closed the connection to ${this.peer}: ${cause.message}`, { cause }), "destroy");
  }

  // ---- partial frames ------------------------------------------------------------------

  /**
   * A chunk ended inside a frame. If it is a new frame, its clock starts now. One timer
   * per connection, armed lazily and re-armed from its callback, so frames that span
   * chunks (most 16 KiB frames do) cost a comparison, not a timer each.
   */
  #partialFrameStarted(): void {
    if (this.#partialSince !== 0 && this.#partialFrame === this.#framesIn) return;
    this.#partialSince = Date.now();
    this.#partialFrame = this.#framesIn;
    if (this.#partialTimer === undefined && this.#holds.size === 0) this.#armPartialTimer(this.#host.limits.partialFrameTimeout);
  }

  #armPartialTimer(ms: number): void {
    this.#partialTimer = setTimeout(this.#onPartialTimer, ms);
    this.#partialTimer.unref();
  }

  readonly #onPartialTimer = (): void => {
    this.#partialTimer = undefined;
    if (this.#partialSince === 0 || this.#closedReason || this.#holds.size > 0) return;
    const limit = this.#host.limits.partialFrameTimeout;
    const left = this.#partialSince + limit - Date.now();
    if (left > 0) {
      this.#armPartialTimer(left);
      return;
    }
    this.#protocolError(
      new PartialFrameTimeoutError(`The peer ${this.peer} started a frame and did not complete it within ${limit} ms`),
    );
  };

  /** Our own pause stalls the frame, not the peer: that time does not count. */
  #suspendPartialTimer(): void {
    if (this.#partialTimer !== undefined) clearTimeout(this.#partialTimer);
    this.#partialTimer = undefined;
  }

  #resumePartialTimer(): void {
    if (!this.#reader.midFrame || this.#partialSince === 0) return;
    this.#partialSince = Date.now();
    if (this.#partialTimer === undefined) this.#armPartialTimer(this.#host.limits.partialFrameTimeout);
  }

  #protocolError(error: unknown): void {
    const known = error instanceof TcpProtocolError || error instanceof SendBufferBudgetError;
    const what = known ? error.message : "protocol error";
    const reason = new ConnectionClosedError(`Closed the connection to ${this.peer}: ${what}`, { cause: error });
    if (known) this.#log.warn(`closing the connection to ${this.peer}`, error);
    else this.#log.warn(`closing the connection to ${this.peer} after an unexpected failure`, error);
    this.#close(reason, "destroy");
  }

  readonly #onEnd = (): void => {
    try {
      this.#reader.end();
      this.#close(new ConnectionClosedError(`The peer ${this.peer} closed the connection`), "end");
    } catch (error) {
      this.#protocolError(error);
    }
  };

  readonly #onError = (error: Error): void => {
    this.#log.debug(`connection to ${this.peer} failed`, error);
    this.#close(new ConnectionClosedError(`The connection to ${this.peer} failed`, { cause: error }), "destroy");
  };

  readonly #onClose = (): void => {
    this.#close(new ConnectionClosedError(`The connection to ${this.peer} closed`), "destroy");
  };

  // ---- closing -------------------------------------------------------------------------

  /**
   * Closes the socket once: leaves the router (pending requests through the sender fail
   * fast with `reason` as their cause, channels over it close), releases backpressure and
   * timers, closes the socket. Then either reconnects (an outgoing connection with
   * `withReconnect`, unless `final` or the transport stops) or is closed for good.
   */
  #close(reason: ConnectionClosedError, how: "end" | "destroy", final = false): void {
    if (this.#closedReason) {
      // Already down (e.g. waiting to reconnect): a final close ends the waiting.
      if (final && this.#state === "reconnecting") this.#giveUp(reason);
      return;
    }
    this.#closedReason = reason;
    const silent = !this.#firstFrameSeen;
    const waiters = this.#firstFrameWaiters;
    this.#firstFrameWaiters = [];
    for (const w of waiters) w.reject(reason);
    const host = this.#host;
    const reconnect = !final && this.#reconnect !== undefined && !host.isStopping();
    // Before unregister: it calls the hop's watchers at once, and they must see the state the
    // connection is going to (whenConnected() then waits for the next socket, or rejects).
    this.#state = reconnect ? "reconnecting" : "closed";
    // Requests waiting on it fail with the reason; a message sent to it meanwhile fails with
    // it too (the router remembers it), and while it reconnects, says so.
    const why = reconnect ? new ConnectionClosedError(`${reason.message}; it is reconnecting (connection.whenConnected() waits for it)`, { cause: reason.cause }) : reason;
    host.router.unregister([this.address, this.receiverAddress], why);
    // A reconnecting connection keeps its flow's consumers (the workers and relays that
    // may receive from it) for the next socket.
    if (!reconnect) host.flowControls.removeFlow(this.flowControlId);
    this.#releaseHolds();
    this.#holdPartial(0);
    this.#holdSend(0);
    // Its kept heads go back to the transport's budget (a reconnect starts a new decoder).
    this.#decoder.forgetHeads();
    this.#suspendPartialTimer();
    if (this.#liveTimer !== undefined) clearTimeout(this.#liveTimer);
    this.#liveTimer = undefined;
    // The mailbox has gone away: whoever waits for room learns it (waitForDrain rejects).
    this.#needsDrain = false;
    this.#roomWaiters.wake();
    const socket = this.#socket;
    // This socket is done with: its late events must not touch the connection (which may get a new one).
    socket.off("data", this.#onData).off("end", this.#onEnd).off("error", this.#onError).off("close", this.#onClose).off("drain", this.#onDrain);
    socket.on("error", noop);
    if (how === "end" && !socket.destroyed) {
      // Queued frames go out, then FIN; the socket is released as soon as the kernel has
      // them, without waiting for the peer's FIN (or, if the peer stopped reading, after a grace period).
      this.#writer.flushAll();
      this.#writer.close();
      const grace = setTimeout(() => socket.destroy(), CLOSE_GRACE_MS);
      grace.unref();
      socket.end(() => socket.destroy());
      socket.once("close", () => clearTimeout(grace));
    } else {
      this.#writer.close();
      socket.destroy();
    }
    this.#log.debug(`connection to ${this.peer} closed`, reason);
    if (reconnect) {
      // A watcher may have stopped it meanwhile (stop() gives a reconnecting connection up for good).
      if (this.#state !== "reconnecting") return;
      host.onClosed(this, reason, false);
      this.#scheduleReconnect(silent ? this.#socketAttempt + 1 : 0);
      return;
    }
    this.#finish(reason);
  }

  /** Closed for good: the transport forgets it, and whenClosed resolves once the socket is closed. */
  #finish(reason: ConnectionClosedError): void {
    this.#state = "closed";
    // The transport applies the next-hop rule first, while the links are still known.
    this.#host.onClosed(this, reason, true);
    this.#unlinkNextHops();
    this.#wakeStateWaiters();
    const socketClosed = this.#socketClosed;
    void socketClosed.then(() => this.#resolveFinal(reason));
  }

  /** A connection closed for good is no longer part of any next-hop pair. */
  #unlinkNextHops(): void {
    for (const feeder of this.#fedBy) feeder.#feeds.delete(this);
    for (const fed of this.#feeds) fed.#fedBy.delete(this);
    this.#fedBy.clear();
    this.#feeds.clear();
  }

  #giveUp(reason: ConnectionClosedError): void {
    if (this.#reconnectTimer !== undefined) clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = undefined;
    this.#closedReason = reason;
    this.#host.flowControls.removeFlow(this.flowControlId);
    this.#finish(reason);
  }

  /**
   * The wait between reconnect attempts keeps the process alive only while someone awaits
   * `whenConnected()`: a program whose only work is that wait must not exit in between (its
   * top-level await would end unsettled), and one that waits for nothing is not held by it.
   */
  #refReconnectTimer(): void {
    const timer = this.#reconnectTimer;
    if (timer === undefined) return;
    if (this.#stateWaiters.size > 0) timer.ref();
    else timer.unref();
  }

  /** Waits (doubling from `initialDelay` up to `maxDelay`, with ±20 % jitter) and dials again. */
  #scheduleReconnect(attempt: number): void {
    const policy = this.#reconnect!;
    if (attempt >= policy.maxAttempts) {
      this.#giveUp(
        new ConnectionClosedError(`Gave up reconnecting to ${this.target} after ${attempt} attempt(s)`, { cause: this.#closedReason }),
      );
      return;
    }
    const base = Math.min(policy.maxDelay, policy.initialDelay * 2 ** Math.min(attempt, 30));
    const delay = Math.round(base * (0.8 + Math.random() * 0.4));
    this.#reconnectTimer = setTimeout(() => void this.#tryReconnect(attempt), delay);
    this.#refReconnectTimer();
  }

  async #tryReconnect(attempt: number): Promise<void> {
    this.#reconnectTimer = undefined;
    if (this.#state !== "reconnecting") return;
    let socket: Socket;
    try {
      socket = await this.#host.redial(this);
    } catch (error) {
      if (this.#state !== "reconnecting") return;
      this.#log.debug(`reconnect ${attempt + 1} to ${this.target} failed`, error);
      this.#scheduleReconnect(attempt + 1);
      return;
    }
    if (this.#state !== "reconnecting" || this.#host.isStopping()) {
      socket.destroy();
      return;
    }
    this.#closedReason = undefined;
    this.#reader = new FrameReader();
    this.#decoder = this.#newDecoder();
    this.#headSeen = false;
    this.#checkedOnward = undefined;
    this.#lastFeederRoute = undefined;
    this.#writer = new FrameWriter(socket, () => this.#checkDrained(), MAX_HOLD_MS, this.#host.limits.sendHighWaterMark, this.#host.afterHandOff);
    this.#framesIn = 0;
    this.#partialSince = 0;
    this.#partialFrame = -1;
    this.#peer = formatHostPort(socket.remoteAddress ?? "?", socket.remotePort ?? 0);
    this.#hostKey = hostKeyOf(socket.remoteAddress ?? "?");
    this.#local = formatHostPort(socket.localAddress ?? "?", socket.localPort ?? 0);
    this.#attach(socket);
    this.#socketAttempt = attempt;
    this.#state = "open";
    this.#reconnects++;
    this.#log.info(`reconnected to ${this.target} (${this.local} <-> ${this.peer})`);
    this.#host.onReconnected(this);
    // whenConnected() waiters wake at the peer's first frame (#onFirstFrame), or at the final close.
  }

  #wakeStateWaiters(): void {
    for (const waiter of [...this.#stateWaiters]) waiter();
    this.#stateWaiters.clear();
  }
}

function noop(): void {}
