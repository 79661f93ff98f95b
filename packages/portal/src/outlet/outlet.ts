import { connect } from "node:net";
import { performance } from "node:perf_hooks";
import {
  assertNodeArgument,
  StopOnce,
  formatHostPort,
  KeyCounts,
  LocalMessage,
  NodeStoppedError,
  route,
  toAddress,
  type Address,
  type HostPort,
  type Logger,
  type Mailbox,
  type Node,
  type Route,
  type Router,
  TokenBucket,
} from "@hopwire/runtime";
import { PortalProtocolError, PortalStreamLimitError, PortalTargetNotAllowedError, PortalTargetUnreachableError , type PortalError } from "../errors.js";
import { parseHostPort } from "../host-port.js";
import { CHANNEL_WINDOW_GROWTH_BYTES, resolveOutletOptions, STREAM_WINDOW_GROWTH_BUDGET_BYTES, type OutletOptions, type ResolvedOutletOptions } from "../options.js";
import { decodePortalMessage, EARLY_DATA_BYTES, encodeOpened, encodeReset, KIND, kindOf } from "../protocol/index.js";
import { Lingering, OpenSockets, PortalStream, StreamListeners, WindowGrowth, type StreamClosedListener, type StreamOwner } from "../stream/index.js";

/**
 * Starts an outlet (Ockam's tcp-outlet) at `options.address` (default "outlet"): for each
 * OPEN an inlet sends it, it connects to its target and carries the connection's bytes
 * both ways on a stream of its own.
 *
 * ```ts
 * const outlet = await createOutlet(node, { to: "127.0.0.1:5432", asConsumer: secureChannelListener.flowControlId });
 * ```
 *
 * Throws InvalidOptionError for bad options, DuplicateAddressError if the address is taken.
 */
export async function createOutlet(node: Node, options: OutletOptions): Promise<Outlet> {
  assertNodeArgument(node, { what: "createOutlet", runs: "portals" });
  if (node.stopped) throw new NodeStoppedError("Cannot start an outlet on a stopped node");
  const resolved = resolveOutletOptions(options);
  const outlet = new Outlet(node, resolved);
  node.router.register([outlet.address], outlet);
  for (const id of resolved.asConsumer) node.flowControls.addConsumer(outlet.address, id);
  outlet.stopWithNode();
  node.log.debug(`outlet ${outlet.address.toString()} -> ${outlet.to} started`);
  return outlet;
}

/**
 * An outlet: a mailbox on the node's router that opens one stream, and one TCP connection
 * to its target, per OPEN. It dials only `to` and the targets of its allow-list.
 */
export class Outlet implements Mailbox, StreamOwner {
  readonly address: Address;
  readonly #node: Node;
  readonly #options: ResolvedOutletOptions;
  /** Each open stream, and the channel its OPEN came through (see channelOf). */
  readonly #streams = new Map<PortalStream, string>();
  /** Open streams per channel, for maxStreamsPerChannel (a channel without streams has no entry). */
  readonly #perChannel = new KeyCounts();
  /**
   * Each channel's opens in the last second, for maxOpensPerSecondPerChannel: a bucket that is
   * full again (nothing opened for a second) is forgotten at the next sweep, as a new one would
   * be the same.
   */
  readonly #opens = new Map<string, TokenBucket>();
  /** The size of #opens at which a new channel's bucket sweeps the full ones out first. */
  #sweepOpensAt = OPEN_BUCKETS_SWEEP_MIN;
  /**
   * Streams opened by OPEN_EARLY whose inlet stream has not yet sent to them directly (it may
   * still send early data to the outlet), by that inlet stream's return route.
   */
  readonly #early = new Map<string, EarlyStream>();
  readonly #listeners = new StreamListeners();
  readonly #refusedListeners = new StreamListeners("onRefused");
  /** Its sockets to targets until they close: its stop waits for them, those of streams that ended before it included. */
  readonly #sockets = new OpenSockets();
  /** @internal the window growth this outlet's streams share */
  readonly windowGrowth = new WindowGrowth(STREAM_WINDOW_GROWTH_BUDGET_BYTES);
  /** Each channel's share of windowGrowth (#channelGrowthBytes), while it has streams (as #perChannel). */
  readonly #growthPerChannel = new Map<string, WindowGrowth>();
  /** @internal this outlet's finished streams that still hold their address: at most maxStreams */
  readonly lingering: Lingering;
  /** @internal what an inlet stream's RESET may say (StreamOwner.peerResetCodes): it dials nothing, and refuses nothing. */
  readonly peerResetCodes: ReadonlySet<string> = INLET_RESET_CODES;
  #refused = 0;
  #opened = 0;
  readonly #stopOnce = new StopOnce(() => this.#stop());

  /** @internal use createOutlet */
  constructor(node: Node, options: ResolvedOutletOptions) {
    this.#node = node;
    this.#options = options;
    this.address = toAddress(options.address);
    this.lingering = new Lingering(node.router, options.maxStreams);
  }

  /** @internal the node's router (for the streams) */
  get router(): Router {
    return this.#node.router;
  }

  /** @internal the node's logger (for the streams) */
  get log(): Logger {
    return this.#node.log;
  }

  /** @internal the node's hand-off hook (busy polling after the streams' socket writes; NodeOptions.busyPollMicros) */
  get afterHandOff(): (() => void) | undefined {
    return this.#node.afterHandOff;
  }

  /** The default target, "host:port". */
  get to(): string {
    return formatHostPort(this.#options.to.host, this.#options.to.port);
  }

  /** Streams open now. */
  get activeStreams(): number {
    return this.#streams.size;
  }

  /** Streams opened so far (the target accepted). */
  get openedStreams(): number {
    return this.#opened;
  }

  /** OPENs refused so far (target not allowed or down, stream limit, malformed). */
  get refusedStreams(): number {
    return this.#refused;
  }

  /** True after `stop()` (or the node stopped). */
  get stopped(): boolean {
    return this.#stopOnce.started;
  }

  /** @internal the router hands it OPENs, and the early DATA (or RESET) behind an OPEN_EARLY */
  deliver(message: LocalMessage, senderKey?: string): void {
    if (this.#stopOnce.started) return;
    const kind = kindOf(message);
    if (kind === KIND.DATA || kind === KIND.RESET) return this.#behindOpenEarly(message);
    const open = decodePortalMessage(message.payload);
    if (open?.kind !== KIND.OPEN) return this.#refuse(message, new PortalProtocolError("an outlet takes only OPEN"));
    if (open.earlyData && this.#early.has(routeKey(message.returnRoute))) {
      // Not answered: a RESET would reach the inlet stream of the first one, which an honest inlet never repeats.
      this.#refused++;
      return this.#node.log.debug(`outlet ${this.address.toString()} dropped a second OPEN_EARLY from one return route`);
    }
    const limit = this.#streamLimit(message);
    if (limit) return this.#refuse(message, limit);
    let target: HostPort = this.#options.to;
    if (open.target !== "") {
      try {
        target = parseHostPort(open.target, "target", false);
      } catch {
        return this.#refuse(message, new PortalTargetNotAllowedError());
      }
      if (!this.#options.allowed.has(formatHostPort(target.host, target.port))) {
        return this.#refuse(message, new PortalTargetNotAllowedError(`target ${open.target} is not on the allow-list`));
      }
    }
    // Last: only an OPEN that would dial takes one of its channel's opens.
    const rate = this.#openRate(message);
    if (rate) return this.#refuse(message, rate);
    this.#open(message, senderKey, target, open.window, open.earlyData);
  }

  /** @internal called by a stream when it ended */
  streamClosed(stream: PortalStream, reason: PortalError | undefined): void {
    const channel = this.#streams.get(stream);
    if (channel !== undefined) {
      this.#streams.delete(stream);
      this.#perChannel.remove(channel);
      // The stream gave its growth back as it finished: a channel without streams holds none.
      if (this.#perChannel.get(channel) === 0) this.#growthPerChannel.delete(channel);
    }
    stream.endEarlyData?.();
    this.#listeners.notify(reason, this.#node.log);
  }

  /** Why an OPEN must be refused for want of room (the outlet's, or its channel's share), if it must. */
  #streamLimit(message: LocalMessage): PortalStreamLimitError | undefined {
    const { maxStreams, maxStreamsPerChannel } = this.#options;
    if (this.#streams.size >= maxStreams) return new PortalStreamLimitError(`The outlet carries ${maxStreams} streams already (maxStreams)`);
    if (this.#perChannel.get(channelOf(message)) >= maxStreamsPerChannel) {
      return new PortalStreamLimitError(`The channel this OPEN came through holds ${maxStreamsPerChannel} of the outlet's streams already (maxStreamsPerChannel)`);
    }
    return undefined;
  }

  /**
   * Why an OPEN must be refused because its channel opened streams faster than
   * maxOpensPerSecondPerChannel, if it must; if not, it takes one of the channel's opens.
   */
  #openRate(message: LocalMessage): PortalStreamLimitError | undefined {
    const perSecond = this.#options.maxOpensPerSecondPerChannel;
    const channel = channelOf(message);
    const now = performance.now();
    let bucket = this.#opens.get(channel);
    if (bucket === undefined) {
      if (this.#opens.size >= this.#sweepOpensAt) this.#sweepOpens(now);
      this.#opens.set(channel, (bucket = new TokenBucket(perSecond, now)));
    }
    if (bucket.take(now)) return undefined;
    return new PortalStreamLimitError(`The channel this OPEN came through opens streams faster than ${perSecond} a second (maxOpensPerSecondPerChannel)`);
  }

  /**
   * Forgets the channels that opened nothing for a second (their bucket is full again), so that
   * #opens holds about the channels that open streams now, not every one that ever did; the
   * next sweep waits until it has doubled (amortised O(1) an OPEN).
   */
  #sweepOpens(now: number): void {
    for (const [channel, bucket] of this.#opens) if (bucket.isFull(now)) this.#opens.delete(channel);
    this.#sweepOpensAt = Math.max(OPEN_BUCKETS_SWEEP_MIN, 2 * this.#opens.size);
  }

  /** @internal for tests: the channels whose recent opens the outlet keeps count of. */
  get openRateChannels(): number {
    return this.#opens.size;
  }

  /**
   * Calls `listener` as each stream ends (undefined: both sides closed cleanly; else the
   * reason, e.g. PortalTargetUnreachableError when the dial failed). Refused OPENs, which
   * never became streams, go to `onRefused` instead (and count in `refusedStreams`). Returns a remover.
   */
  onStreamClosed(listener: StreamClosedListener): () => void {
    return this.#listeners.add(listener);
  }

  /**
   * Calls `listener` for each OPEN this outlet refused before any stream began, with why: a
   * target not on its allow-list (PortalTargetNotAllowedError), no room for another stream or
   * its channel opening streams too fast (PortalStreamLimitError), or a malformed request (PortalProtocolError). The inlet learns it
   * from the RESET; this is the outlet's side, for its operator. Returns a remover.
   */
  onRefused(listener: (reason: PortalError) => void): () => void {
    return this.#refusedListeners.add(listener as StreamClosedListener);
  }

  /** @internal createOutlet: the node's stop stops this outlet, and the outlet's own stop removes that hook. */
  stopWithNode(): void {
    this.#stopOnce.hookTo(this.#node);
  }

  /**
   * Stops taking OPENs and resets every stream. Resolves once its sockets to targets are
   * released (no longer listed by `process.getActiveResourcesInfo()`), not merely closing;
   * every call returns that same promise.
   */
  stop(): Promise<void> {
    // Stopped from the first call on: the streams #stop ends call back (streamClosed, onStreamClosed listeners) and must see it.
    return this.#stopOnce.stop();
  }

  async #stop(): Promise<void> {
    this.#node.router.unregister([this.address]);
    for (const stream of [...this.#streams.keys()]) stream.finish(new PortalTargetUnreachableError("the outlet stopped"), true);
    await this.#sockets.allClosed();
  }

  /** For logs: the address and where it leads. */
  toString(): string {
    return `Outlet(${this.address.toString()} -> ${this.to})`;
  }

  #open(message: LocalMessage, senderKey: string | undefined, target: HostPort, credit: number, earlyData: boolean): void {
    const socket = connect({ host: target.host, port: target.port, allowHalfOpen: true });
    this.#sockets.add(socket);
    // Listens before the stream does, so a failed dial is reported as such, not as a reset.
    socket.once("error", (error) => failed(error));
    // Early data comes out of the window OPENED grants, so that window holds all of it.
    const window = earlyData ? Math.max(this.#options.windowBytes, EARLY_DATA_BYTES) : this.#options.windowBytes;
    const channel = channelOf(message);
    const stream = new PortalStream(this, socket, window, Math.max(window, this.#options.maxWindowBytes), this.#channelGrowth(channel));
    if (earlyData) {
      const key = routeKey(message.returnRoute);
      this.#early.set(key, { stream, bytes: 0 });
      // Over once the inlet stream sends to the stream itself (it has OPENED), or the stream ends.
      stream.endEarlyData = () => {
        this.#early.delete(key);
        stream.endEarlyData = undefined;
      };
    }
    this.#streams.set(stream, channel);
    this.#perChannel.add(channel);
    this.#node.router.register([stream.address], stream);
    // Only the flow the OPEN came on (that one channel) may reach the new stream.
    const producer = senderKey === undefined ? undefined : this.#node.flowControls.producerByKey(senderKey);
    if (producer) this.#node.flowControls.addConsumer(stream.address, producer.flowControlId);
    stream.setPeer(message.returnRoute);
    const timer = setTimeout(
      () => {
        const timedOut = Object.assign(new Error(`connect timed out after ${this.#options.connectTimeoutMs} ms`), { code: "ETIMEDOUT" });
        stream.finish(new PortalTargetUnreachableError(`connect to ${formatHostPort(target.host, target.port)} timed out`, { cause: timedOut }), true);
      },
      this.#options.connectTimeoutMs,
    );
    let connected = false;
    const failed = (error: Error): void => {
      if (connected) return;
      clearTimeout(timer);
      this.#refused++;
      stream.finish(new PortalTargetUnreachableError(`cannot connect to the target: ${error.message}`, { cause: error }), true);
    };
    socket.once("connect", () => {
      connected = true;
      clearTimeout(timer);
      this.#opened++;
      if (stream.sendControl(encodeOpened(window))) stream.attach(message.returnRoute, credit);
    });
    void stream.closed.then(() => clearTimeout(timer));
  }

  /**
   * A channel's share: CHANNEL_WINDOW_GROWTH_BYTES, or what one stream needs to grow from
   * windowBytes to maxWindowBytes if that is more (a maxWindowBytes above ≈ 16 MiB was capped
   * there without a word), never more than the outlet's whole budget.
   */
  #channelGrowthBytes(): number {
    const oneStream = this.#options.maxWindowBytes - this.#options.windowBytes;
    return Math.min(STREAM_WINDOW_GROWTH_BUDGET_BYTES, Math.max(CHANNEL_WINDOW_GROWTH_BYTES, oneStream));
  }

  /** The share of the outlet's window growth that the streams of `channel` draw on. */
  #channelGrowth(channel: string): WindowGrowth {
    let growth = this.#growthPerChannel.get(channel);
    if (growth === undefined) this.#growthPerChannel.set(channel, (growth = new WindowGrowth(this.#channelGrowthBytes(), this.windowGrowth)));
    return growth;
  }

  /**
   * DATA or RESET sent to the outlet itself: what an inlet stream sends behind its OPEN_EARLY
   * until it has OPENED (its early data; a RESET when its client went away meanwhile), handed to
   * the stream that OPEN_EARLY opened for the same return route — whose first hop the channel
   * set itself, so it came through the same channel. Early data past EARLY_DATA_BYTES resets the
   * stream. Anything for no such stream (its OPEN_EARLY was refused, the stream ended or has
   * heard from its inlet stream directly) is dropped without an answer: the inlet stream has its
   * answer already.
   */
  #behindOpenEarly(message: LocalMessage): void {
    const early = this.#early.get(routeKey(message.returnRoute));
    if (early === undefined) return;
    if (kindOf(message) === KIND.DATA) {
      early.bytes += message.payloadLength - 1; // less the kind byte
      if (early.bytes > EARLY_DATA_BYTES) {
        return early.stream.finish(new PortalProtocolError(`the peer sent ${early.bytes - EARLY_DATA_BYTES} bytes of early data past ${EARLY_DATA_BYTES}`), true);
      }
    }
    early.stream.deliverEarly(message);
  }

  #refuse(message: LocalMessage, reason: PortalError): void {
    this.#refused++;
    this.#node.log.debug(`outlet ${this.address.toString()} refused a stream: ${reason.message}`);
    this.#refusedListeners.notify(reason, this.#node.log);
    try {
      this.#node.router.route(new LocalMessage(message.returnRoute, route(this.address), encodeReset(reason.code)), this.address.key);
    } catch {
      // the asker is gone
    }
  }
}

/**
 * The channel an OPEN came through, as a key: the first hop of its return route, which the
 * channel (or the TCP connection, on a route without one) put there itself, so a peer cannot
 * choose it. An OPEN from a worker of this node starts its return route with its own stream's
 * address: each is a channel of its own, bound by maxStreams only.
 */
function channelOf(message: LocalMessage): string {
  return message.returnRoute.at(0)?.key ?? "";
}

/** The least size of an outlet's #opens at which a new channel's bucket sweeps the full ones out. */
const OPEN_BUCKETS_SWEEP_MIN = 64;

/** The codes an inlet stream sends in a RESET: its client reset (or its socket failed), its inlet stopped, a protocol error. */
const INLET_RESET_CODES: ReadonlySet<string> = new Set(["PORTAL_RESET", "PORTAL_ROUTE_CLOSED", "PORTAL_PROTOCOL"]);

/** A stream opened by OPEN_EARLY, and the early data it took so far. */
interface EarlyStream {
  readonly stream: PortalStream;
  bytes: number;
}

/** A return route as a map key: its addresses' keys. */
function routeKey(r: Route): string {
  return r.addresses.map((address) => address.key).join("\u0000");
}
