import { setMaxListeners } from "node:events";
import { createServer, connect as netConnect, type Socket } from "node:net";
import {
  afterClosingHandles,
  assertNodeArgument,
  AbortError,
  Address,
  checkWaitOptions,
  FlowControlDeniedError,
  formatHostPort,
  InvalidOptionError,
  NodeStoppedError,
  RoomWaiters,
  StopOnce,
  TimeoutError,
  waitFor,
  type FlowControls,
  type LocalMessage,
  type Logger,
  type Mailbox,
  type Node,
  type Route,
  type Router,
  type WaitOptions,
} from "@hopwire/runtime";
import { TcpConnection, type ConnectionHost } from "./connection.js";
import { closeServer } from "./server-close.js";
import {
  BackpressureError,
  ConnectError,
  ConnectionClosedError,
  DialDeniedError,
  FirstFrameTimeoutError,
  ListenError,
  NextHopClosedError,
  TcpProtocolError,
  TransportStoppedError,
} from "./errors.js";
import { parseHostPort } from "./host-port.js";
import { TcpListener, type ListenerRefusal } from "./listener.js";
import {
  claimOptions,
  resolveTransportOptions,
  sameTransportOptions,
  TcpConnectionOptions,
  TcpListenerOptions,
  type ResolvedTcpTransportOptions,
  type TcpTransportOptions,
} from "./options.js";
import { resolveConnect, resolveListen, type TcpConnectOptions, type TcpListenOptions } from "./plain-options.js";
import { KEPT_HEADS_BUDGET, TCP } from "./protocol.js";
import { RateLimitedWarning } from "./rate-limited-log.js";

/**
 * Messages held while an on-demand connection is being established. It is what the
 * router's transport route returns for a "1#" hop meanwhile: full at
 * `maxPendingDialMessages`, room again once the connection is up (or failed).
 */
class Dial {
  /** `fromProducer`: the sender was a producer (a secure channel) when the message was queued. */
  readonly queue: { message: LocalMessage; senderKey: string | undefined; fromProducer: boolean }[] = [];
  readonly #waiters = new RoomWaiters();

  constructor(
    readonly address: Address,
    readonly max: number,
  ) {}

  get isFull(): boolean {
    return this.queue.length >= this.max;
  }

  /** Queues a message; beyond the bound (a feeder that ignored isFull) it is refused. */
  deliver(message: LocalMessage, senderKey?: string, fromProducer = false): void {
    if (this.queue.length >= this.max) {
      throw new BackpressureError(`${this.queue.length} messages already wait for the connection to ${this.address.value}`);
    }
    this.queue.push({ message, senderKey, fromProducer });
  }

  onRoom(callback: () => void): () => void {
    return this.#waiters.add(callback, this.isFull);
  }

  /** The dial is over (connected, failed or stopped): waiters route again and see what became of it. */
  settle(): void {
    this.#waiters.wake();
  }
}

const transports = new WeakMap<Node, TcpTransport>();

/**
 * Creates the node's TCP transport (or returns the one it already has) and registers it
 * for TCP addresses ("1#host:port") in routes. The node's stop closes every socket.
 * Options are checked on every call; a node has one transport, so a later call with options
 * other than those it was made with is an InvalidOptionError rather than options ignored.
 */
export async function createTcpTransport(node: Node, options?: TcpTransportOptions): Promise<TcpTransport> {
  assertNodeArgument(node, { what: "createTcpTransport", runs: "transports" });
  const resolved = resolveTransportOptions(options);
  const existing = transports.get(node);
  if (existing && !existing.isStopped) {
    if (options !== undefined && !sameTransportOptions(existing.resolvedOptions, resolved)) {
      throw new InvalidOptionError(
        "This node already has a TCP transport, made with other options: call createTcpTransport(node) to get it, or stop it first to make another",
        { option: "options" },
      );
    }
    return existing;
  }
  if (node.stopped) throw new NodeStoppedError("Cannot create a TCP transport on a stopped node");
  const transport = new TcpTransport(node, resolved);
  transports.set(node, transport);
  return transport;
}

/**
 * The node's TCP transport, if `createTcpTransport` made one and it is not stopped. For a
 * service that works with whatever connections the node has (the relay service marks the
 * connections registrations came in on as next hops) without creating a transport itself.
 */
export function tcpTransportOf(node: Node): TcpTransport | undefined {
  const transport = transports.get(node);
  return transport === undefined || transport.isStopped ? undefined : transport;
}

/**
 * Listens and connects over TCP. Connections and listeners live on the node's main thread
 * beside the router; their workers are mailboxes registered with it directly.
 */
export class TcpTransport {
  readonly #router: Router;
  readonly #flowControls: FlowControls;
  readonly #log: Logger;
  readonly #limits: ResolvedTcpTransportOptions;

  /** The options this transport was made with, resolved (defaults filled in). @internal */
  get resolvedOptions(): ResolvedTcpTransportOptions {
    return this.#limits;
  }
  readonly #connections = new Set<TcpConnection>();
  readonly #bySender = new Map<string, TcpConnection>();
  /** Outgoing connections by the "host:port" they were made to and by the peer's "ip:port" (for "1#" routes). */
  readonly #byRemote = new Map<string, TcpConnection>();
  readonly #remoteNames = new Map<TcpConnection, string[]>();
  readonly #listeners = new Set<TcpListener>();
  readonly #dials = new Map<string, Dial>();
  /**
   * listen(), connect(), reconnect dials and listeners' stops in progress (a listener leaves
   * `#listeners` as its stop begins): the stop waits for them, so no server or socket of theirs outlives it.
   */
  readonly #inProgress = new Set<Promise<unknown>>();
  /**
   * Aborted as the transport stops: a dial in progress ends then (its socket destroyed) rather
   * than at its connect or timeout. Every dial in progress listens to it, and one at a time: no
   * listener limit (20 registrations at once made Node warn "Possible EventTarget memory leak").
   */
  readonly #stopDials = unlimitedAbortController();
  readonly #host: ConnectionHost;
  /** The node's stop runs it; it removes that hook as it ends (a node may get a new transport after one stopped). */
  readonly #stopOnce = new StopOnce(() => this.#closeEverything());
  #deniedDials = 0;
  readonly #dialWarning: RateLimitedWarning;
  /** The last return route found local in origin (routes decoded from repeated heads are the same object). */
  #lastLocalOrigin: Route | undefined;

  /** @internal use createTcpTransport(node) */
  constructor(node: Node, limits: ResolvedTcpTransportOptions) {
    this.#router = node.router;
    this.#flowControls = node.flowControls;
    this.#log = node.log.child("tcp");
    this.#limits = limits;
    this.#dialWarning = new RateLimitedWarning(this.#log);
    const transport = this;
    this.#host = {
      router: this.#router,
      flowControls: this.#flowControls,
      log: this.#log,
      limits,
      connectionBySender: (key) => this.#bySender.get(key),
      onClosed: (connection, reason, final) => this.#forget(connection, reason, final),
      redial: (connection) => this.#redial(connection),
      onReconnected: (connection) => this.#reconnected(connection),
      // A method, not a getter: V8 keeps an object literal with a getter in dictionary mode, and
      // connections read this host's fields for every message (limits, router).
      isStopping: () => transport.#stopOnce.started,
      partialFrames: { held: 0 },
      keptHeads: { held: 0, max: KEPT_HEADS_BUDGET },
      sendBuffers: { held: 0, grace: undefined },
      connections: () => this.#connections,
      afterHandOff: node.afterHandOff,
    };
    this.#router.registerTransport(
      TCP,
      (message, senderKey) => this.#routeRemote(message, senderKey),
      (hop) => this.#mailboxFor(hop.value),
    );
    this.#stopOnce.hookTo(node);
  }

  get isStopped(): boolean {
    return this.#stopOnce.started;
  }

  /** What the heads its connections keep for their repeats cost now, as estimated (bounded by KEPT_HEADS_BUDGET). */
  get keptHeadBytes(): number {
    return this.#host.keptHeads.held;
  }

  /** Bytes of incomplete frames its connections hold now (bounded by maxPartialFrameBytes). */
  get partialFrameBytes(): number {
    return this.#host.partialFrames.held;
  }

  /** Bytes its connections have queued for their sockets now, as last counted (bounded by sendBufferBudget). */
  get sendBufferBytes(): number {
    return this.#host.sendBuffers.held;
  }

  /** Open connections, outgoing and accepted (and outgoing ones waiting to reconnect). */
  get connections(): TcpConnection[] {
    return [...this.#connections];
  }

  /**
   * Messages from the network (sent by, or forwarded on behalf of, a connection or a secure
   * channel) that named a "1#host:port" hop outside `dialAllowList`: dropped, never dialled.
   */
  get deniedDials(): number {
    return this.#deniedDials;
  }

  /**
   * The open connection whose sender (or receiver) has this address, if any. On the node a
   * message arrived at, the first hop of its return route is the sender of the connection
   * it arrived on: `transport.connectionOf(message.returnRoute.next())`.
   */
  connectionOf(address: Address | string): TcpConnection | undefined {
    const key = typeof address === "string" ? Address.parse(address).key : address.key;
    const bySender = this.#bySender.get(key);
    if (bySender) return bySender;
    for (const c of this.#connections) if (c.receiverAddress.key === key && c.state === "open") return c;
    return undefined;
  }

  get listeners(): TcpListener[] {
    return [...this.#listeners];
  }

  /**
   * Binds "host:port" ("127.0.0.1:0" lets the system choose the port; `listener.address`
   * tells which). The listener is a spawner (see TcpListenerOptions). Options are a
   * TcpListenerOptions (then `wait` bounds the bind) or a plain object `{ signal, timeout }`.
   * A transport that stops meanwhile waits for the bind, releases the server and rejects it
   * with TransportStoppedError.
   */
  listen(address: string, given?: TcpListenerOptions | TcpListenOptions, givenWait: WaitOptions = {}): Promise<TcpListener> {
    return this.#track(this.#listen(address, given, givenWait));
  }

  async #listen(address: string, given: TcpListenerOptions | TcpListenOptions | undefined, givenWait: WaitOptions): Promise<TcpListener> {
    this.#assertRunning();
    const { host, port } = parseHostPort(address, "listen address", true);
    const [options, wait] = resolveListen(given, givenWait);
    checkWaitOptions(wait, "listen options");
    const liveness = options.resolveLiveness(this.#limits.liveness);
    claimOptions(options);
    const server = createServer({ noDelay: true });
    try {
      await waitFor<void>(
        (resolve, reject) => {
          server.once("listening", resolve);
          server.once("error", reject);
          server.listen({ host, port });
        },
        { ...wait, what: `listen on ${address}`, cleanup: () => server.removeAllListeners("listening").removeAllListeners("error") },
      );
    } catch (error) {
      await closeServer(server);
      throw error instanceof AbortError || error instanceof TimeoutError
        ? error
        : new ListenError(`Could not listen on ${address}: ${(error as Error).message}`, { cause: error });
    }
    if (this.#stopOnce.started) {
      await closeServer(server);
      throw new TransportStoppedError();
    }
    server.on("error", (error) => this.#log.warn(`listener ${address} failed`, error));
    const bound = server.address();
    const boundAddress = bound && typeof bound === "object" ? formatHostPort(bound.address, bound.port) : address;
    const listener = new TcpListener(
      server,
      boundAddress,
      options.spawnerFlowControlId,
      {
        maxConnections: options.maxConnections ?? this.#limits.maxConnections,
        maxConnectionsPerHost: options.maxConnectionsPerHost ?? this.#limits.maxConnectionsPerHost,
        liveness,
      },
      (socket, l) => this.#accept(socket, l),
      (socket, l, refusal) => this.#refuse(socket, l, refusal),
      (l, released) => this.#listenerStopped(l, released),
    );
    this.#flowControls.addSpawner(listener.processorAddress, listener.flowControlId);
    this.#listeners.add(listener);
    this.#log.debug(`listening on ${boundAddress}`);
    return listener;
  }

  /**
   * Connects to "host:port" (hostnames resolve), and resolves once the peer's first frame
   * has arrived: a peer that closes first (a listener at its maxConnections) or speaks
   * another protocol fails it with ConnectError. The connection's receiver is a producer
   * with the options' own flow control id (see TcpConnectionOptions). Options are a
   * TcpConnectionOptions (then `wait` bounds the dial and that wait) or a plain object
   * `{ consumerOf, signal, timeout }` (TcpConnectOptions). A transport that stops meanwhile
   * ends the dial (or the connection) and rejects it with TransportStoppedError once its socket
   * is released.
   */
  connect(address: string, given?: TcpConnectionOptions | TcpConnectOptions, givenWait: WaitOptions = {}): Promise<TcpConnection> {
    return this.#track(this.#connect(address, given, givenWait));
  }

  async #connect(address: string, given: TcpConnectionOptions | TcpConnectOptions | undefined, givenWait: WaitOptions): Promise<TcpConnection> {
    this.#assertRunning();
    const { host, port } = parseHostPort(address, "connect address", false);
    const [options, wait] = resolveConnect(given, givenWait);
    checkWaitOptions(wait, "connect options");
    const liveness = options.resolveLiveness(this.#limits.liveness);
    const timeout = wait.timeout ?? options.timeout;
    const startedAt = performance.now();
    const socket = await this.#dial(host, port, { signal: wait.signal, timeout });
    try {
      claimOptions(options);
    } catch (error) {
      socket.destroy();
      throw error;
    }
    const target = formatHostPort(host, port);
    const connection = new TcpConnection(
      socket,
      { mode: "outgoing", flowControlId: options.flowControlId, consumerOf: options.consumerOf, target, reconnect: options.reconnect },
      this.#host,
      liveness,
    );
    this.#adopt(connection);
    this.#nameRemote(connection, target);
    this.#nameRemote(connection, connection.peer);
    const left = timeout === undefined ? undefined : Math.max(1, timeout - (performance.now() - startedAt));
    try {
      await firstFrameOf(connection, target, { signal: wait.signal, timeout: left }, timeout);
    } catch (error) {
      // The transport stopped the connection while it waited: say so, not "the peer closed it".
      if (this.#stopOnce.started) throw new TransportStoppedError();
      throw error;
    }
    return connection;
  }

  /**
   * Stops every listener and connection and unregisters the transport from the router; resolves
   * once their servers and sockets are released, not merely closing. A listen() or connect() in
   * progress rejects with TransportStoppedError, and is waited for: nothing it opened outlives the stop.
   */
  stop(): Promise<void> {
    return this.#stopOnce.stop();
  }

  async #closeEverything(): Promise<void> {
    this.#router.unregisterTransport(TCP);
    // Every connection closes: nothing will be left to judge at the end of a send budget's grace.
    clearTimeout(this.#host.sendBuffers.grace);
    this.#host.sendBuffers.grace = undefined;
    const stopped = new TransportStoppedError();
    for (const [name, dial] of this.#dials) {
      dial.queue.length = 0;
      dial.settle();
      this.#router.unregister([new Address(TCP, name)], stopped);
    }
    this.#dials.clear();
    this.#stopDials.abort();
    await Promise.all([...this.#listeners].map((l) => l.stop()));
    await Promise.all([...this.#connections].map((c) => c.stop()));
    // A listen binds, sees the transport stopping and releases its server; a dial's socket is
    // destroyed; a connect waiting for the first frame had its connection stopped above; a
    // listener.stop() not awaited before this one releases its server and sockets.
    await Promise.allSettled([...this.#inProgress]);
    // Anything closed along the way but not waited for (a reconnecting connection drops the
    // socket its redial brought as the stop began) is released too.
    await afterClosingHandles();
    this.#log.debug("transport stopped");
  }

  /** Holds `operation` until it settles: the transport's stop waits for it. */
  #track<T>(operation: Promise<T>): Promise<T> {
    this.#inProgress.add(operation);
    const forget = (): void => void this.#inProgress.delete(operation);
    operation.then(forget, forget);
    return operation;
  }

  /**
   * Opens a socket for this transport: its stop ends the dial (TransportStoppedError), and a
   * dial that completes as the stop begins has its socket released before it rejects.
   */
  async #dial(host: string, port: number, wait: WaitOptions): Promise<Socket> {
    const socket = await dial(host, port, wait, this.#stopDials.signal);
    if (this.#stopOnce.started) {
      await released(socket);
      throw new TransportStoppedError();
    }
    return socket;
  }

  #assertRunning(): void {
    if (this.#stopOnce.started) throw new TransportStoppedError();
  }

  /** A socket the listener turned away (it is full, or full for the socket's host): closed before anything is allocated for it. */
  #refuse(socket: Socket, listener: TcpListener, refusal: ListenerRefusal): void {
    const via = formatHostPort(socket.remoteAddress ?? "?", socket.remotePort ?? 0); // (unknown once destroyed)
    socket.on("error", noop);
    socket.destroy();
    // A node event each time, and a warning (on by default, once a minute per listener): a full
    // listener turns clients away, which an operator must hear of without DEBUG.
    const { error, advice } = refusal;
    this.#router.reportRefused({ listener: listener.address.toString(), what: "a TCP connection", peer: undefined, via, reason: error.code, error }, advice);
  }

  #accept(socket: Socket, listener: TcpListener): TcpConnection | undefined {
    if (this.#stopOnce.started) {
      socket.destroy();
      return undefined;
    }
    const connection = new TcpConnection(
      socket,
      { mode: "incoming", flowControlId: this.#flowControls.generateId(), spawnerFlowControlId: listener.flowControlId },
      this.#host,
      listener.liveness,
    );
    this.#adopt(connection);
    return connection;
  }

  #adopt(connection: TcpConnection): void {
    this.#connections.add(connection);
    this.#bySender.set(connection.address.key, connection);
  }

  #nameRemote(connection: TcpConnection, name: string): void {
    if (this.#byRemote.has(name)) return;
    this.#byRemote.set(name, connection);
    const names = this.#remoteNames.get(connection);
    if (names) names.push(name);
    else this.#remoteNames.set(connection, [name]);
  }

  #forget(connection: TcpConnection, reason: ConnectionClosedError, final: boolean): void {
    if (final) this.#connections.delete(connection);
    this.#bySender.delete(connection.address.key);
    const names = this.#remoteNames.get(connection) ?? [];
    this.#remoteNames.delete(connection);
    for (const name of names) {
      if (this.#byRemote.get(name) === connection) this.#byRemote.delete(name);
    }
    // Requests whose first hop was "1#<name>" went through this connection: fail them now.
    if (names.length > 0) this.#router.unregister(names.map((name) => new Address(TCP, name)), reason);
    if (connection.isNextHop && !this.#stopOnce.started) this.#closeFeeders(connection, reason);
  }

  /**
   * The next-hop rule: a next hop (an outgoing connection, or a relay service registrant's)
   * died, so every accepted connection whose messages were forwarded onto it, and that feeds
   * no other open next hop, is closed: its peer (the initiator behind a relay) learns at once
   * that its route is broken. A next hop itself is never closed so (a registrant that also
   * reached another registrant keeps its registration).
   */
  #closeFeeders(dead: TcpConnection, reason: ConnectionClosedError): void {
    for (const feeder of [...dead.fedBy]) {
      if (feeder.state !== "open" || feeder.isNextHop) continue;
      let stillServed = false;
      for (const other of feeder.feeds) {
        if (other !== dead && other.state === "open") {
          stillServed = true;
          break;
        }
      }
      if (stillServed) continue;
      const next = dead.target ?? dead.peer;
      const cause = new NextHopClosedError(`The connection to ${next} that messages from ${feeder.peer} were forwarded onto closed`, { cause: reason });
      this.#log.debug(`closing the connection from ${feeder.peer}: its next hop ${next} closed`);
      feeder.closeForNextHop(new ConnectionClosedError(`Closed the connection from ${feeder.peer}: its next hop ${next} closed`, { cause }));
    }
  }

  /** Dials an outgoing connection's target again (its reconnect). */
  #redial(connection: TcpConnection): Promise<Socket> {
    if (this.#stopOnce.started) return Promise.reject(new TransportStoppedError());
    const { host, port } = parseHostPort(connection.target!, "reconnect address", false);
    return this.#track(this.#dial(host, port, { timeout: this.#limits.dialTimeout }));
  }

  #reconnected(connection: TcpConnection): void {
    this.#bySender.set(connection.address.key, connection);
    this.#nameRemote(connection, connection.target!);
    this.#nameRemote(connection, connection.peer);
  }

  /**
   * Whether a message's origin is this node: neither its sender nor any hop on its return
   * route is a producer (a connection's receiver or sender, a secure channel), or was one
   * until lately (`FlowControls.isNetworkKey`). A message that arrived from the network keeps
   * the hop it arrived through on its return route whatever local workers forwarded it (a
   * relay, a Hop), so it is recognised behind them — also when that connection closed while
   * the message waited in a worker's queue (the peer sends and closes at once): before, the
   * hop was no producer any more then, and a Hop on a thread or in the pool dialled.
   */
  #isLocalOrigin(message: LocalMessage, senderKey: string | undefined): boolean {
    const flowControls = this.#flowControls;
    if (senderKey !== undefined && flowControls.isNetworkKey(senderKey)) return false;
    const returnRoute = message.returnRoute;
    if (returnRoute === this.#lastLocalOrigin) return true;
    for (let i = 0; i < returnRoute.length; i++) {
      if (flowControls.isNetworkKey(returnRoute.at(i)!.key)) return false;
    }
    this.#lastLocalOrigin = returnRoute;
    return true;
  }

  #mayUseFromNetwork(name: string): boolean {
    const allow = this.#limits.dialAllowList;
    if (allow.size === 0) return false;
    if (allow.has("*")) return true;
    try {
      const { host, port } = parseHostPort(name, "TCP address", false);
      return allow.has(formatHostPort(host.toLowerCase(), port)); // host names are case-insensitive (as resolveAllowList keeps them)
    } catch {
      return false;
    }
  }

  #listenerStopped(listener: TcpListener, released: Promise<void>): void {
    void this.#track(released);
    this.#listeners.delete(listener);
    this.#flowControls.cleanup(listener.processorAddress);
    this.#flowControls.removeFlow(listener.flowControlId);
  }

  /** Where a message to "1#<name>" would go now: the connection's sender, or the dial in progress. */
  #mailboxFor(name: string): Mailbox | undefined {
    const dial = this.#dials.get(name);
    if (dial) return dial;
    const existing = this.#byRemote.get(name);
    return existing ? this.#router.mailboxOf(existing.address) : undefined;
  }

  /**
   * Routes a message whose next hop is "1#host:port": through the open connection to that
   * address, or through one made on demand (default TcpConnectionOptions; messages wait,
   * up to a bound, while it is established). The sender becomes a consumer of the
   * connection's flow by sending into it, so its replies come back; nothing else on this
   * node is reachable from such a connection. A message from the network may use such a hop only
   * when `dialAllowList` names it (the dial policy).
   *
   * Returns the mailbox that took the message (the connection's sender, or the dial
   * queue), so that the feeder can wait while it is full.
   */
  #routeRemote(message: LocalMessage, senderKey: string | undefined): Mailbox | undefined {
    const hop = message.onwardRoute.next();
    const name = hop.value;
    if (!this.#isLocalOrigin(message, senderKey) && !this.#mayUseFromNetwork(name)) {
      // Dropped and counted: a peer may not make this node open (or use) a connection to an address it names.
      this.#deniedDials++;
      const error = new DialDeniedError(`A message from the network may not use ${hop.toString()} (not in dialAllowList)`);
      this.#dialWarning.warn(`dropped a message from the network that named ${hop.toString()}`, error);
      throw error;
    }
    // A dial in progress keeps its queue's order: its connection is named (connect() names it
    // before the peer's first frame) before the queue is handed to it.
    let dial = this.#dials.get(name);
    const existing = dial ? undefined : this.#byRemote.get(name);
    if (existing) return this.#router.route(message.withOnwardRoute(message.onwardRoute.replaceFront(existing.address)), senderKey);
    if (this.#stopOnce.started) throw new TransportStoppedError();
    if (!dial) {
      parseHostPort(name, "TCP address", false);
      dial = new Dial(hop, this.#limits.maxPendingDialMessages);
      this.#dials.set(name, dial);
      void this.#dialOnDemand(name, dial);
    }
    dial.deliver(message, senderKey, senderKey !== undefined && this.#flowControls.isProducerKey(senderKey));
    return dial;
  }

  async #dialOnDemand(name: string, dial: Dial): Promise<void> {
    let connection: TcpConnection;
    try {
      connection = await this.connect(name, new TcpConnectionOptions(), { timeout: this.#limits.dialTimeout });
    } catch (error) {
      if (this.#dials.get(name) !== dial) return;
      this.#dials.delete(name);
      this.#log.warn(`could not connect to ${name}; dropped ${dial.queue.length} message(s)`, error);
      // Their sends resolved when they were queued: the node says what became of them.
      for (const { message, senderKey } of dial.queue.splice(0)) this.#reportDropped(dial.address, message, senderKey, error);
      dial.settle();
      // Requests waiting on "1#<name>" as their first hop fail now rather than at their timeout.
      this.#router.unregister([new Address(TCP, name)], error as Error);
      return;
    }
    if (this.#dials.get(name) !== dial) return;
    this.#dials.delete(name);
    this.#nameRemote(connection, name);
    for (const { message, senderKey, fromProducer } of dial.queue.splice(0)) {
      try {
        // A producer (a secure channel) that went away while the dial was under way took its flow
        // with it: routed as it is, its message would come from no producer any more, and flow
        // controls would let it through where they denied it while the producer was there.
        if (fromProducer && !this.#flowControls.isProducerKey(senderKey!)) {
          throw new FlowControlDeniedError(`Flow controls do not allow delivery to ${connection.address.toString()}: the message's producer went away while the dial was in progress`);
        }
        this.#router.route(message.withOnwardRoute(message.onwardRoute.replaceFront(connection.address)), senderKey);
      } catch (error) {
        this.#log.debug(`dropped a message for ${name}`, error);
        this.#reportDropped(dial.address, message, senderKey, error);
      }
    }
    dial.settle();
  }

  /** A message queued for a dial could not go on: the node's "dropped" event and warning, from whoever routed it. */
  #reportDropped(hop: Address, message: LocalMessage, senderKey: string | undefined, error: unknown): void {
    this.#router.reportDropped(hop, senderKey ?? message.returnRoute.at(0)?.key ?? "this node", error);
  }
}

function noop(): void {}

/**
 * Waits for the peer's first frame (every Hopwire peer sends one at once). A peer that closes
 * first fails the connect, and the connection is stopped: a listener at its maxConnections
 * (or maxConnectionsPerHost) closes new sockets at once, and a port where no Hopwire node
 * listens answers in another protocol; either way the caller must not get a connection that
 * is already gone.
 */
async function firstFrameOf(connection: TcpConnection, target: string, wait: WaitOptions, timeout: number | undefined): Promise<void> {
  try {
    await waitFor<void>((resolve, reject) => void connection.whenPeerSpoke().then(resolve, reject), {
      ...wait,
      what: `connect to ${target} (waiting for the peer's first frame)`,
    });
  } catch (error) {
    await connection.stop();
    if (error instanceof TimeoutError) throw new TimeoutError(`connect to ${target} timed out after ${timeout} ms (no first frame from the peer)`);
    if (error instanceof AbortError) throw error;
    const cause = (error as Error).cause;
    const why =
      cause instanceof TcpProtocolError || cause instanceof FirstFrameTimeoutError
        ? cause.message
        : "the peer closed the connection before its first frame (most likely a Hopwire listener at its maxConnections, or maxConnectionsPerHost for this host, which closes new connections at once; else a peer that is stopping or reset the connection)";
    throw new ConnectError(`Could not connect to ${target}: ${why}`, { cause: error });
  }
}

/**
 * Opens a socket; every listener is removed in one place, and a failed or abandoned socket is
 * destroyed and released before the dial rejects. `stopped` aborted (the transport stops) ends
 * the dial with TransportStoppedError.
 */
async function dial(host: string, port: number, wait: WaitOptions, stopped: AbortSignal): Promise<Socket> {
  let socket: Socket | undefined;
  let onConnect: (() => void) | undefined;
  let onError: ((error: Error) => void) | undefined;
  let onStop: (() => void) | undefined;
  try {
    return await waitFor<Socket>(
      (resolve, reject) => {
        if (stopped.aborted) return reject(new TransportStoppedError());
        const s = netConnect({ host, port, noDelay: true });
        socket = s;
        onConnect = () => resolve(s);
        onError = reject;
        onStop = () => reject(new TransportStoppedError());
        s.once("connect", onConnect);
        s.once("error", onError);
        stopped.addEventListener("abort", onStop, { once: true });
      },
      {
        ...wait,
        what: `connect to ${formatHostPort(host, port)}`,
        cleanup: () => {
          if (onConnect) socket?.off("connect", onConnect);
          if (onError) socket?.off("error", onError);
          if (onStop) stopped.removeEventListener("abort", onStop);
        },
      },
    );
  } catch (error) {
    if (socket) await released(socket);
    if (error instanceof AbortError || error instanceof TimeoutError || error instanceof TransportStoppedError) throw error;
    throw new ConnectError(`Could not connect to ${formatHostPort(host, port)}: ${(error as Error).message}`, { cause: error });
  }
}

/** Destroys `socket` and resolves once its handle is released: its "close" is emitted from the handle's close callback. */
function released(socket: Socket): Promise<void> {
  if (socket.closed) return Promise.resolve();
  return new Promise((resolve) => {
    socket.once("close", () => resolve());
    socket.destroy();
  });
}

/** An AbortController whose signal takes any number of listeners (see TcpTransport's #stopDials). */
function unlimitedAbortController(): AbortController {
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  return controller;
}
