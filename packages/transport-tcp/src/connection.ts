import type { Socket } from "node:net";
import {
  Address,
  DecodeError,
  EnvelopeHeadDecoder,
  LocalMessage,
  RoomWaiters,
  Route,
  waitFor,
  type FlowControlId,
  type FlowControls,
  type Logger,
  type Mailbox,
  type Router,
  type WaitOptions,
} from "@hopwire/runtime";
import { BackpressureError, ConnectionClosedError, MalformedFrameError, PartialFrameTimeoutError, TcpProtocolError } from "./errors.js";
import { FrameReader } from "./frame-reader.js";
import { FrameWriter } from "./frame-writer.js";
import { formatHostPort } from "./host-port.js";
import type { ResolvedTcpTransportOptions } from "./options.js";

/** What a connection needs from its transport. @internal */
export interface ConnectionHost {
  readonly router: Router;
  readonly flowControls: FlowControls;
  readonly log: Logger;
  readonly limits: ResolvedTcpTransportOptions;
  /** The connection whose sender has this address key, if any (to find who feeds a connection). */
  connectionBySender(key: string): TcpConnection | undefined;
  /** Called once, when the connection has closed and left the router. */
  onClosed(connection: TcpConnection, reason: ConnectionClosedError): void;
}

/** How a connection's flow controls are set up. @internal */
export type ConnectionFlow =
  | { mode: "outgoing"; flowControlId: FlowControlId; consumerOf: readonly FlowControlId[] }
  | { mode: "incoming"; flowControlId: FlowControlId; spawnerFlowControlId: FlowControlId };

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
  /** The remote "ip:port". */
  readonly peer: string;
  /** The local "ip:port". */
  readonly local: string;

  readonly #socket: Socket;
  readonly #host: ConnectionHost;
  readonly #log: Logger;
  readonly #reader = new FrameReader();
  /** Decodes frame heads; its return routes start with this connection's sender. */
  readonly #decoder: EnvelopeHeadDecoder;
  /** The last onward route checked for a local next hop, and the verdict. */
  #checkedOnward: Route | undefined;
  #deliverable = false;
  readonly #writer: FrameWriter;
  readonly #receiverKey: string;
  #closedReason: ConnectionClosedError | undefined;
  readonly #socketClosed: Promise<void>;
  #graceTimer: NodeJS.Timeout | undefined;
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
  #partialTimer: NodeJS.Timeout | undefined;

  /** @internal connections are made by TcpTransport.connect and by listeners */
  constructor(socket: Socket, flow: ConnectionFlow, host: ConnectionHost) {
    this.#socket = socket;
    this.#host = host;
    this.mode = flow.mode;
    this.flowControlId = flow.flowControlId;
    this.spawnerFlowControlId = flow.mode === "incoming" ? flow.spawnerFlowControlId : undefined;
    this.address = Address.random();
    this.receiverAddress = Address.random();
    this.#receiverKey = this.receiverAddress.key;
    this.route = new Route([this.address]);
    this.#decoder = new EnvelopeHeadDecoder({ returnPrefix: this.address });
    this.peer = formatHostPort(socket.remoteAddress ?? "?", socket.remotePort ?? 0);
    this.local = formatHostPort(socket.localAddress ?? "?", socket.localPort ?? 0);
    this.#log = host.log;
    this.#writer = new FrameWriter(socket, () => this.#checkDrained());

    // Flow controls as in Ockam: the receiver is a producer (spawned by the listener for an
    // accepted connection) with the sender as an alias, so that the flow can be found from
    // the address that routes use.
    const flowControls = host.flowControls;
    flowControls.addProducer(
      this.receiverAddress,
      flow.flowControlId,
      flow.mode === "incoming" ? flow.spawnerFlowControlId : undefined,
      [this.address],
    );
    if (flow.mode === "outgoing") for (const id of flow.consumerOf) flowControls.addConsumer(this.address, id);

    this.#mailbox = this.#createMailbox();
    host.router.register([this.address], this.#mailbox);

    this.#socketClosed = new Promise((resolve) => socket.once("close", () => resolve()));
    socket.setNoDelay(true);
    socket.on("data", this.#onData);
    socket.on("end", this.#onEnd);
    socket.on("error", this.#onError);
    socket.on("close", this.#onClose);
    socket.on("drain", this.#onDrain);
    this.#writer.writeVersion();
    this.#log.debug(`${this.mode} connection ${this.local} <-> ${this.peer} (sender ${this.address.value})`);
  }

  /** A route with this connection as its only hop, so that `route(connection, "echoer")` works. */
  readonly route: Route;

  get isClosed(): boolean {
    return this.#closedReason !== undefined;
  }

  /** Why the connection closed, once it has. */
  get closedReason(): ConnectionClosedError | undefined {
    return this.#closedReason;
  }

  /** Bytes waiting to be sent: queued in the connection and in the socket's buffer. */
  get bufferedBytes(): number {
    return this.#closedReason ? 0 : this.#writer.bufferedBytes;
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

  /** Resolves when the socket has closed (after `stop()`, a peer close or an error). */
  whenClosed(): Promise<ConnectionClosedError> {
    return this.#socketClosed.then(() => this.#closedReason!);
  }

  /** Sends what is queued, closes the socket and leaves the router. */
  async stop(): Promise<void> {
    this.#close(new ConnectionClosedError(`The connection to ${this.peer} was stopped`), "end");
    await this.#socketClosed;
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
    const connection = this;
    return {
      address: this.address,
      deliver: (message) => connection.#send(message),
      get isFull() {
        // A closed connection is not full: it is gone, and routing to it fails.
        return connection.#needsDrain && connection.#closedReason === undefined;
      },
      onRoom: (callback) => connection.#onRoom(callback),
    };
  }

  /** Calls `callback` once there is room again (or the connection has closed); returns its cancel. */
  #onRoom(callback: () => void): () => void {
    return this.#roomWaiters.add(callback, this.#needsDrain && !this.#closedReason);
  }

  /**
   * Queues a message. Over the high-water mark the mailbox says it is full and feeders
   * that honour it wait; the hard bound (`maxSendBufferBytes`) is the protection against
   * a feeder that ignores it: the message is refused with BackpressureError.
   */
  #send(message: LocalMessage): void {
    if (this.#closedReason) throw this.#closedReason;
    const limits = this.#host.limits;
    const buffered = this.#writer.bufferedBytes;
    if (buffered > 0 && buffered + message.payload.length > limits.maxSendBufferBytes) {
      this.#needsDrain = true;
      throw new BackpressureError(
        `The connection to ${this.peer} has ${buffered} bytes waiting to be sent (limit ${limits.maxSendBufferBytes}); wait for it to drain`,
      );
    }
    this.#writer.enqueue(message);
    if (this.#writer.bufferedBytes > limits.sendHighWaterMark) this.#overHighWater(message);
  }

  /**
   * Too much is queued: the mailbox is full from now on. A feeder that routed straight
   * into it sees that in what `router.route` returned. A message that came from another
   * connection through a worker that does not wait for room (e.g. a hello Relay on an
   * unbounded mailbox) is recognised by its return route, which starts with that
   * connection's sender (receivers prepend it); that connection then waits for room
   * here the same way.
   */
  #overHighWater(message: LocalMessage): void {
    this.#needsDrain = true;
    const previous = message.returnRoute.at(0);
    if (!previous) return;
    const feeder = this.#host.connectionBySender(previous.key);
    if (feeder && feeder !== this) feeder.#pauseUntilRoom(this.#mailbox);
  }

  #checkDrained(): void {
    if (!this.#needsDrain || this.#closedReason) return;
    if (this.#writer.blocked || this.#writer.bufferedBytes > this.#host.limits.sendHighWaterMark / 2) return;
    this.#needsDrain = false;
    this.#roomWaiters.wake();
  }

  /** Stops reading the socket until `mailbox` has room; several mailboxes may hold it at once. */
  #pauseUntilRoom(mailbox: Mailbox): void {
    if (this.#closedReason || this.#holds.has(mailbox) || mailbox.onRoom === undefined) return;
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
    try {
      this.#reader.push(chunk, this.#onFrame);
    } catch (error) {
      this.#protocolError(error);
      return;
    }
    if (this.#closedReason) return;
    if (this.#reader.midFrame) this.#partialFrameStarted();
    else this.#partialSince = 0;
  };

  readonly #onFrame = (bytes: Buffer, start: number, end: number): boolean => {
    this.#framesIn++;
    const decoder = this.#decoder;
    try {
      decoder.decode(bytes, start, end);
    } catch (error) {
      // The connection closes with TCP_FRAME_MALFORMED; the codec's message never quotes the bytes.
      if (error instanceof DecodeError) throw new MalformedFrameError(`The frame does not hold a valid network envelope: ${error.message}`, { cause: error });
      throw error;
    }
    const onward = decoder.onwardRoute;
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
      return true;
    }
    // The return route already starts with this connection's sender, so replies come back through it.
    const message = new LocalMessage(onward, decoder.returnRoute, bytes.subarray(decoder.payloadOffset, end));
    let mailbox: Mailbox | undefined;
    try {
      mailbox = this.#host.router.route(message, this.#receiverKey);
    } catch (error) {
      // Denied by flow controls or unknown: dropped alike, and the peer is told nothing.
      this.#log.debug(`dropped a message from ${this.peer} to ${onward.next().toString()}`, error);
    }
    // The mailbox took the message but is full now: read no more until it has room. The
    // rest of the chunk in hand is still delivered (a mailbox accepts past its mark), so
    // the overshoot per connection is at most one socket read (64 KiB).
    if (mailbox !== undefined && mailbox.isFull === true) this.#pauseUntilRoom(mailbox);
    return this.#closedReason === undefined;
  };

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
    const reason = new ConnectionClosedError(`Closed the connection to ${this.peer}: protocol error`, { cause: error });
    if (error instanceof TcpProtocolError) this.#log.warn(`closing the connection to ${this.peer}`, error);
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
    if (this.#graceTimer) clearTimeout(this.#graceTimer);
    this.#close(new ConnectionClosedError(`The connection to ${this.peer} closed`), "destroy");
  };

  // ---- closing -------------------------------------------------------------------------

  /**
   * Closes once: leaves the router (pending requests through the sender fail fast with
   * `reason` as their cause), forgets the flow, releases backpressure, closes the socket.
   */
  #close(reason: ConnectionClosedError, how: "end" | "destroy"): void {
    if (this.#closedReason) return;
    this.#closedReason = reason;
    const host = this.#host;
    host.router.unregister([this.address, this.receiverAddress], reason);
    host.flowControls.removeFlow(this.flowControlId);
    this.#releaseHolds();
    this.#suspendPartialTimer();
    // The mailbox has gone away: whoever waits for room learns it (waitForDrain rejects).
    this.#roomWaiters.wake();
    const socket = this.#socket;
    socket.off("data", this.#onData);
    if (how === "end" && !socket.destroyed) {
      // Queued frames go out, then FIN; the socket is released as soon as the kernel has
      // them, without waiting for the peer's FIN (or, if the peer stopped reading, after a grace period).
      this.#writer.flushAll();
      this.#writer.close();
      socket.end(() => socket.destroy());
      this.#graceTimer = setTimeout(() => socket.destroy(), CLOSE_GRACE_MS);
      this.#graceTimer.unref();
    } else {
      this.#writer.close();
      socket.destroy();
    }
    this.#log.debug(`connection to ${this.peer} closed`, reason);
    host.onClosed(this, reason);
  }
}

function noop(): void {}
