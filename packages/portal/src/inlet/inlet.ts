import { createServer, type Server, type Socket } from "node:net";
import { afterClosingHandles, assertNodeArgument, formatHostPort, NodeStoppedError, StopOnce, type Logger, type Node, type Route, type Router } from "@hopwire/runtime";
import { PortalListenError, PortalOpenTimeoutError, PortalRouteClosedError, PortalStreamLimitError , type PortalError } from "../errors.js";
import { resolveInletOptions, STREAM_WINDOW_GROWTH_BUDGET_BYTES, type InletOptions, type ResolvedInletOptions } from "../options.js";
import { EARLY_DATA_BYTES, encodeOpen } from "../protocol/index.js";
import { Lingering, resetSocket, StreamListeners, WindowGrowth, type PortalStream, type StreamClosedListener, type StreamOwner } from "../stream/index.js";
import { InletStream } from "./inlet-stream.js";

/** How long an inlet that found its outlet older than early data opens streams with OPEN before it asks again (ms). */
export const EARLY_DATA_ASK_AGAIN_MS = 10 * 60_000;

/**
 * Starts an inlet (Ockam's tcp-inlet): it listens on `options.listen` and, for each client
 * connection, opens a stream to the outlet at the end of `options.route`. Resolves once
 * it listens; `inlet.address` is the bound "host:port".
 *
 * ```ts
 * const inlet = await createInlet(node, { listen: "127.0.0.1:0", route: route(channel, "outlet") });
 * ```
 *
 * Throws InvalidOptionError for bad options, PortalListenError if it cannot listen,
 * NodeStoppedError if the node stops first (the inlet's server is then released).
 */
export async function createInlet(node: Node, options: InletOptions): Promise<Inlet> {
  assertNodeArgument(node, { what: "createInlet", runs: "portals" });
  if (node.stopped) throw new NodeStoppedError("Cannot start an inlet on a stopped node");
  const resolved = resolveInletOptions(options);
  const inlet = new Inlet(node, resolved);
  // Hooked before it listens: a node.stop() meanwhile stops the inlet once bound, and waits for that.
  inlet.stopWithNode();
  try {
    await inlet.listen();
  } catch (error) {
    await inlet.stop();
    throw error;
  }
  if (inlet.stopped) {
    await inlet.stop();
    throw new NodeStoppedError("The node stopped while the inlet was starting");
  }
  node.log.debug(`inlet ${inlet.address} -> ${resolved.route.toString()} started`);
  return inlet;
}

/** Why a client connection of an inlet ended: undefined when both sides closed cleanly. */
export type InletStreamListener = StreamClosedListener;

/**
 * An inlet: a TCP server whose every client connection becomes a portal stream to the
 * outlet. A client's bytes wait (its socket paused) until the outlet answered.
 */
export class Inlet implements StreamOwner {
  readonly #node: Node;
  readonly #options: ResolvedInletOptions;
  readonly #server: Server;
  readonly #streams = new Set<InletStream>();
  readonly #listeners = new StreamListeners();
  /** @internal the window growth this inlet's streams share */
  readonly windowGrowth = new WindowGrowth(STREAM_WINDOW_GROWTH_BUDGET_BYTES);
  /** @internal this inlet's finished streams that still hold their address: at most maxStreams */
  readonly lingering: Lingering;
  #address = "";
  /** The listen in progress, until it settles. */
  #binding: Promise<void> | undefined;
  readonly #stopOnce = new StopOnce(() => this.#stop());
  /** Whether the outlet takes OPEN_EARLY: undefined until a stream's OPEN_EARLY was answered. */
  #outletTakesEarlyData: boolean | undefined;
  /** When "no" (an older outlet) is asked again: outlets get upgraded. */
  #askAgainAt = 0;

  /** @internal use createInlet */
  constructor(node: Node, options: ResolvedInletOptions) {
    this.#node = node;
    this.#options = options;
    this.lingering = new Lingering(node.router, options.maxStreams);
    this.#server = createServer({ allowHalfOpen: true, pauseOnConnect: true }, (socket) => this.#accept(socket));
    // Not the server's maxConnections: Node would close the connection past it before #accept saw
    // it (a FIN, and nobody told); #accept resets it and says so, as the outlet does at its limit.
  }

  #atLimit(): PortalStreamLimitError {
    return new PortalStreamLimitError(`The inlet carries ${this.#options.maxStreams} connections already (maxStreams)`);
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

  /** The bound "host:port" (the real port when asked for port 0). */
  get address(): string {
    return this.#address;
  }

  /** The bound port. */
  get port(): number {
    return Number(this.#address.slice(this.#address.lastIndexOf(":") + 1));
  }

  /** The route to the outlet. */
  get route(): Route {
    return this.#options.route;
  }

  /**
   * Whether the outlet takes early data (OPEN_EARLY, docs/portals.md "Early data"): undefined
   * until a stream's OPEN_EARLY was answered; false with `earlyData: false`, or for
   * EARLY_DATA_ASK_AGAIN_MS after an outlet from before early data refused it (streams then
   * open with OPEN, as it expects).
   */
  get earlyData(): boolean | undefined {
    return this.#options.earlyData ? this.#outletTakesEarlyData : false;
  }

  /** Client connections carried now. */
  get activeStreams(): number {
    return this.#streams.size;
  }

  /** True after `stop()` (or the node stopped). */
  get stopped(): boolean {
    return this.#stopOnce.started;
  }

  /** Calls `listener` as each client connection's stream ends; returns a function that removes it. */
  onStreamClosed(listener: InletStreamListener): () => void {
    return this.#listeners.add(listener);
  }

  /** @internal */
  async listen(): Promise<void> {
    this.#binding = this.#bind();
    try {
      await this.#binding;
    } finally {
      this.#binding = undefined;
    }
  }

  async #bind(): Promise<void> {
    const { host, port } = this.#options.listen;
    await new Promise<void>((resolve, reject) => {
      const onError = (error: Error): void => reject(new PortalListenError(`Could not listen on ${formatHostPort(host, port)}: ${error.message}`, { cause: error }));
      this.#server.once("error", onError);
      this.#server.listen(port, host, () => {
        this.#server.off("error", onError);
        resolve();
      });
    });
    this.#server.on("error", (error) => this.#node.log.warn(`inlet ${this.#address} server error: ${error.message}`));
    const bound = this.#server.address();
    if (bound !== null && typeof bound === "object") this.#address = formatHostPort(bound.address, bound.port);
  }

  /** @internal called by a stream when it ended */
  streamClosed(stream: PortalStream, reason: PortalError | undefined): void {
    const inletStream = stream as InletStream;
    this.#streams.delete(inletStream);
    // Early data refused as an older outlet refuses it (the outlet was replaced?): the next stream asks again.
    if (inletStream.openKind === "early" && !inletStream.opened && reason?.code === "PORTAL_PROTOCOL" && this.#outletTakesEarlyData === true) {
      this.#outletTakesEarlyData = undefined;
    }
    this.#notify(reason);
  }

  #notify(reason: PortalError | undefined): void {
    this.#listeners.notify(reason, this.#node.log);
  }

  /** @internal createInlet: the node's stop stops this inlet, and the inlet's own stop removes that hook. */
  stopWithNode(): void {
    this.#stopOnce.hookTo(this.#node);
  }

  /**
   * Stops listening and resets every client connection (and its stream at the outlet).
   * Resolves once the server's handle and those of the client sockets are released (no longer
   * listed by `process.getActiveResourcesInfo()`), not merely closing; every call returns that
   * same promise.
   */
  stop(): Promise<void> {
    // Stopped from the first call on: the streams #stop ends call back (streamClosed, onStreamClosed listeners) and must see it.
    return this.#stopOnce.stop();
  }

  async #stop(): Promise<void> {
    // A server closed while its listen looks the host up would bind afterwards all the same.
    if (this.#binding) await this.#binding.catch(() => {});
    // The server's "close" waits for every client socket it handed over to be destroyed.
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    // A stream still waiting for OPENED lingers to answer it with RESET (InletStream).
    for (const stream of [...this.#streams]) stream.finish(new PortalRouteClosedError("the inlet stopped"), true);
    await closed;
    // "close" came a tick after the last client socket went, with its handle and the server's still closing.
    await afterClosingHandles();
  }

  /** For logs: the address and where it leads. */
  toString(): string {
    return `Inlet(${this.#address} -> ${this.#options.route.toString()})`;
  }

  #accept(socket: Socket): void {
    if (this.#stopOnce.started) return resetSocket(socket);
    const options = this.#options;
    if (this.#streams.size >= options.maxStreams) {
      resetSocket(socket);
      return this.#notify(this.#atLimit());
    }
    const stream = new InletStream(this, socket, options.windowBytes, options.maxWindowBytes);
    this.#streams.add(stream);
    this.#node.router.register([stream.address], stream);
    const timer = setTimeout(() => stream.finish(this.#openTimeoutError(), false), options.openTimeoutMs);
    stream.expectOpened(options.openTimeoutMs, () => {
      clearTimeout(timer);
      if (stream.openKind !== "open") this.#outletTakesEarlyData = true;
    });
    void stream.closed.then(() => clearTimeout(timer));
    stream.setPeer(options.route);
    this.#open(stream);
  }

  /**
   * OPEN_EARLY with the client's first bytes right behind it, once this inlet's outlet is known
   * to take it; OPEN_EARLY alone until then, falling back to OPEN if the outlet is one from
   * before early data; OPEN with `earlyData: false`.
   */
  #open(stream: InletStream): void {
    const { windowBytes, target, earlyData, route } = this.#options;
    stream.askedTarget = target;
    if (this.#outletTakesEarlyData === false && Date.now() >= this.#askAgainAt) this.#outletTakesEarlyData = undefined;
    if (!earlyData || this.#outletTakesEarlyData === false) return stream.open(encodeOpen(windowBytes, target));
    const openEarly = encodeOpen(windowBytes, target, true);
    if (this.#outletTakesEarlyData === true) return stream.openEarly(openEarly, EARLY_DATA_BYTES);
    stream.probeOpenEarly(openEarly, encodeOpen(windowBytes, target), route.recipient(), () => {
      if (this.#outletTakesEarlyData !== true) this.#outletTakesEarlyData = false;
      this.#askAgainAt = Date.now() + EARLY_DATA_ASK_AGAIN_MS;
      this.#node.log.debug(`inlet ${this.#address}: the outlet does not take early data (OPEN_EARLY); its streams open with OPEN`);
    });
  }

  /** Says where the answer should have come from and which option waited (it was only "did not answer in time"). */
  #openTimeoutError(): PortalOpenTimeoutError {
    const { route, openTimeoutMs } = this.#options;
    return new PortalOpenTimeoutError(`The outlet at ${route.toString()} did not answer within ${openTimeoutMs} ms (openTimeoutMs)`);
  }
}
