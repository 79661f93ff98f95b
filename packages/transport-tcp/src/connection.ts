import type { Socket } from "node:net";
import {
  Address,
  DecodeError,
  EnvelopeHeadDecoder,
  LocalMessage,
  Route,
  waitFor,
  type FlowControlId,
  type FlowControls,
  type Logger,
  type Mailbox,
  type Router,
  type WaitOptions,
} from "@hopwire/runtime";
import { BackpressureError, ConnectionClosedError, MalformedFrameError, TcpProtocolError } from "./errors.js";
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
  /** Over the high-water mark: feeders are paused and `needsDrain` is true. */
  #needsDrain = false;
  readonly #drainWaiters = new Set<{ resolve: () => void; reject: (error: unknown) => void }>();
  /** Connections this one paused because it was forwarding their messages. */
  readonly #pausedFeeders = new Set<TcpConnection>();
  /** Connections that asked this one to stop reading. */
  readonly #readingHeldBy = new Set<TcpConnection>();

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

    const mailbox: Mailbox = { address: this.address, deliver: (message) => this.#send(message) };
    host.router.register([this.address], mailbox);

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

  /** True while this connection does not read its socket because a connection it feeds is full. */
  get readingPaused(): boolean {
    return this.#readingHeldBy.size > 0;
  }

  /**
   * Resolves when the send buffer is back under the high-water mark (at once if it is).
   * Rejects with ConnectionClosedError if the connection closes first.
   */
  waitForDrain(options: WaitOptions = {}): Promise<void> {
    if (this.#closedReason) return Promise.reject(this.#closedReason);
    if (!this.#needsDrain) return Promise.resolve();
    let entry: { resolve: () => void; reject: (error: unknown) => void } | undefined;
    return waitFor<void>(
      (resolve, reject) => {
        entry = { resolve, reject };
        this.#drainWaiters.add(entry);
      },
      { ...options, what: `waiting for the connection to ${this.peer} to drain`, cleanup: () => entry && this.#drainWaiters.delete(entry) },
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

  toString(): string {
    return `TcpConnection(${this.mode} ${this.peer}, sender ${this.address.value})`;
  }

  // ---- sending -------------------------------------------------------------------------

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
   * Too much is queued: if the message came from another connection of this node (its
   * return route starts with that connection's sender, as receivers prepend it), stop
   * reading that connection until this one drains. The slow reader slows the sender.
   */
  #overHighWater(message: LocalMessage): void {
    this.#needsDrain = true;
    const previous = message.returnRoute.at(0);
    if (!previous) return;
    const feeder = this.#host.connectionBySender(previous.key);
    if (!feeder || feeder.#closedReason || this.#pausedFeeders.has(feeder)) return;
    this.#pausedFeeders.add(feeder);
    feeder.#holdReading(this);
  }

  #checkDrained(): void {
    if (!this.#needsDrain || this.#closedReason) return;
    if (this.#writer.blocked || this.#writer.bufferedBytes > this.#host.limits.sendHighWaterMark / 2) return;
    this.#needsDrain = false;
    this.#releaseFeeders();
    for (const waiter of [...this.#drainWaiters]) waiter.resolve();
  }

  #releaseFeeders(): void {
    for (const feeder of this.#pausedFeeders) feeder.#releaseReading(this);
    this.#pausedFeeders.clear();
  }

  #holdReading(by: TcpConnection): void {
    if (this.#closedReason) return;
    this.#readingHeldBy.add(by);
    if (this.#readingHeldBy.size === 1) {
      this.#socket.pause();
      this.#log.debug(`paused reading ${this.peer}: ${by.peer} is not keeping up`);
    }
  }

  #releaseReading(by: TcpConnection): void {
    if (!this.#readingHeldBy.delete(by) || this.#readingHeldBy.size > 0 || this.#closedReason) return;
    this.#socket.resume();
    this.#log.debug(`resumed reading ${this.peer}`);
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
    }
  };

  readonly #onFrame = (bytes: Buffer, start: number, end: number): boolean => {
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
    try {
      this.#host.router.route(message, this.#receiverKey);
    } catch (error) {
      // Denied by flow controls or unknown: dropped alike, and the peer is told nothing.
      this.#log.debug(`dropped a message from ${this.peer} to ${onward.next().toString()}`, error);
    }
    return this.#closedReason === undefined;
  };

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
    this.#releaseFeeders();
    this.#readingHeldBy.clear();
    for (const waiter of [...this.#drainWaiters]) waiter.reject(reason);
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
