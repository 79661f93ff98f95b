import { createServer, connect as netConnect, type Socket } from "node:net";
import {
  AbortError,
  Address,
  FlowControlDeniedError,
  InvalidOptionError,
  NodeStoppedError,
  RoomWaiters,
  TimeoutError,
  waitFor,
  type FlowControls,
  type LocalMessage,
  type Logger,
  type Mailbox,
  type Node,
  type Router,
  type WaitOptions,
} from "@hopwire/runtime";
import { TcpConnection, type ConnectionHost } from "./connection.js";
import { BackpressureError, ConnectError, ConnectionClosedError, ListenError, TransportStoppedError } from "./errors.js";
import { formatHostPort, parseHostPort } from "./host-port.js";
import { TcpListener } from "./listener.js";
import {
  claimOptions,
  resolveTransportOptions,
  TcpConnectionOptions,
  TcpListenerOptions,
  type ResolvedTcpTransportOptions,
  type TcpTransportOptions,
} from "./options.js";
import { resolveConnect, resolveListen, type TcpConnectOptions, type TcpListenOptions } from "./plain-options.js";
import { TCP } from "./protocol.js";

/**
 * Messages held while an on-demand connection is being established. It is what the
 * router's transport route returns for a "1#" hop meanwhile: full at
 * `maxPendingDialMessages`, room again once the connection is up (or failed).
 */
class Dial {
  readonly queue: { message: LocalMessage; senderKey: string | undefined }[] = [];
  readonly #waiters = new RoomWaiters();

  constructor(
    readonly address: Address,
    readonly max: number,
  ) {}

  get isFull(): boolean {
    return this.queue.length >= this.max;
  }

  /** Queues a message; beyond the bound (a feeder that ignored isFull) it is refused. */
  deliver(message: LocalMessage, senderKey?: string): void {
    if (this.queue.length >= this.max) {
      throw new BackpressureError(`${this.queue.length} messages already wait for the connection to ${this.address.value}`);
    }
    this.queue.push({ message, senderKey });
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
 */
export async function createTcpTransport(node: Node, options?: TcpTransportOptions): Promise<TcpTransport> {
  const existing = transports.get(node);
  if (existing && !existing.isStopped) return existing;
  if (node.stopped) throw new NodeStoppedError("Cannot create a TCP transport on a stopped node");
  const transport = new TcpTransport(node, resolveTransportOptions(options));
  transports.set(node, transport);
  return transport;
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
  readonly #connections = new Set<TcpConnection>();
  readonly #bySender = new Map<string, TcpConnection>();
  /** Outgoing connections by the "host:port" they were made to and by the peer's "ip:port" (for "1#" routes). */
  readonly #byRemote = new Map<string, TcpConnection>();
  readonly #remoteNames = new Map<TcpConnection, string[]>();
  readonly #listeners = new Set<TcpListener>();
  readonly #dials = new Map<string, Dial>();
  readonly #host: ConnectionHost;
  #stopping: Promise<void> | undefined;

  /** @internal use createTcpTransport(node) */
  constructor(node: Node, limits: ResolvedTcpTransportOptions) {
    this.#router = node.router;
    this.#flowControls = node.flowControls;
    this.#log = node.log.child("tcp");
    this.#limits = limits;
    this.#host = {
      router: this.#router,
      flowControls: this.#flowControls,
      log: this.#log,
      limits,
      connectionBySender: (key) => this.#bySender.get(key),
      onClosed: (connection, reason) => this.#forget(connection, reason),
    };
    this.#router.registerTransport(
      TCP,
      (message, senderKey) => this.#routeRemote(message, senderKey),
      (hop) => this.#mailboxFor(hop.value),
    );
    node.onStop(() => this.stop());
  }

  get isStopped(): boolean {
    return this.#stopping !== undefined;
  }

  /** Open connections, outgoing and accepted. */
  get connections(): TcpConnection[] {
    return [...this.#connections];
  }

  get listeners(): TcpListener[] {
    return [...this.#listeners];
  }

  /**
   * Binds "host:port" ("127.0.0.1:0" lets the system choose the port; `listener.address`
   * tells which). The listener is a spawner (see TcpListenerOptions). Options are a
   * TcpListenerOptions (then `wait` bounds the bind) or a plain object `{ signal, timeout }`.
   */
  async listen(address: string, given?: TcpListenerOptions | TcpListenOptions, givenWait: WaitOptions = {}): Promise<TcpListener> {
    this.#assertRunning();
    const { host, port } = parseHostPort(address, "listen address", true);
    const [options, wait] = resolveListen(given, givenWait);
    checkWait(wait);
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
      server.close();
      throw error instanceof AbortError || error instanceof TimeoutError
        ? error
        : new ListenError(`Could not listen on ${address}: ${(error as Error).message}`, { cause: error });
    }
    if (this.#stopping) {
      server.close();
      throw new TransportStoppedError();
    }
    server.on("error", (error) => this.#log.warn(`listener ${address} failed`, error));
    const bound = server.address();
    const boundAddress = bound && typeof bound === "object" ? formatHostPort(bound.address, bound.port) : address;
    const listener = new TcpListener(
      server,
      boundAddress,
      options.spawnerFlowControlId,
      (socket, l) => this.#accept(socket, l),
      (l) => this.#listenerStopped(l),
    );
    this.#flowControls.addSpawner(listener.processorAddress, listener.flowControlId);
    this.#listeners.add(listener);
    this.#log.debug(`listening on ${boundAddress}`);
    return listener;
  }

  /**
   * Connects to "host:port" (hostnames resolve). The connection's receiver is a producer
   * with the options' own flow control id (see TcpConnectionOptions). Options are a
   * TcpConnectionOptions (then `wait` bounds the dial) or a plain object
   * `{ consumerOf, signal, timeout }` (TcpConnectOptions).
   */
  async connect(address: string, given?: TcpConnectionOptions | TcpConnectOptions, givenWait: WaitOptions = {}): Promise<TcpConnection> {
    this.#assertRunning();
    const { host, port } = parseHostPort(address, "connect address", false);
    const [options, wait] = resolveConnect(given, givenWait);
    checkWait(wait);
    const socket = await dial(host, port, { signal: wait.signal, timeout: wait.timeout ?? options.timeout });
    if (this.#stopping) {
      socket.destroy();
      throw new TransportStoppedError();
    }
    try {
      claimOptions(options);
    } catch (error) {
      socket.destroy();
      throw error;
    }
    const connection = new TcpConnection(
      socket,
      { mode: "outgoing", flowControlId: options.flowControlId, consumerOf: options.consumerOf },
      this.#host,
    );
    this.#adopt(connection);
    this.#nameRemote(connection, formatHostPort(host, port));
    this.#nameRemote(connection, connection.peer);
    return connection;
  }

  /** Stops every listener and connection and unregisters the transport from the router. */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    this.#router.unregisterTransport(TCP);
    const stopped = new TransportStoppedError();
    for (const [name, dial] of this.#dials) {
      dial.queue.length = 0;
      dial.settle();
      this.#router.unregister([new Address(TCP, name)], stopped);
    }
    this.#dials.clear();
    await Promise.all([...this.#listeners].map((l) => l.stop()));
    await Promise.all([...this.#connections].map((c) => c.stop()));
    this.#log.debug("transport stopped");
  }

  #assertRunning(): void {
    if (this.#stopping) throw new TransportStoppedError();
  }

  #accept(socket: Socket, listener: TcpListener): TcpConnection | undefined {
    if (this.#stopping) {
      socket.destroy();
      return undefined;
    }
    const connection = new TcpConnection(
      socket,
      { mode: "incoming", flowControlId: this.#flowControls.generateId(), spawnerFlowControlId: listener.flowControlId },
      this.#host,
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

  #forget(connection: TcpConnection, reason: ConnectionClosedError): void {
    this.#connections.delete(connection);
    this.#bySender.delete(connection.address.key);
    const names = this.#remoteNames.get(connection) ?? [];
    this.#remoteNames.delete(connection);
    for (const name of names) {
      if (this.#byRemote.get(name) === connection) this.#byRemote.delete(name);
    }
    // Requests whose first hop was "1#<name>" went through this connection: fail them now.
    if (names.length > 0) this.#router.unregister(names.map((name) => new Address(TCP, name)), reason);
  }

  #listenerStopped(listener: TcpListener): void {
    this.#listeners.delete(listener);
    this.#flowControls.cleanup(listener.processorAddress);
    this.#flowControls.removeFlow(listener.flowControlId);
  }

  /**
   * Routes a message whose next hop is "1#host:port": through the open connection to that
   * address, or through one made on demand (default TcpConnectionOptions; messages wait,
   * up to a bound, while it is established). The sender becomes a consumer of the
   * connection's flow by sending into it, so its replies come back; nothing else on this
   * node is reachable from such a connection.
   *
   * Returns the mailbox that took the message (the connection's sender, or the dial
   * queue), so that the feeder can wait while it is full.
   */
  /** Where a message to "1#<name>" would go now: the connection's sender, or the dial in progress. */
  #mailboxFor(name: string): Mailbox | undefined {
    const existing = this.#byRemote.get(name);
    return existing ? this.#router.mailboxOf(existing.address) : this.#dials.get(name);
  }

  #routeRemote(message: LocalMessage, senderKey: string | undefined): Mailbox | undefined {
    const hop = message.onwardRoute.next();
    if (senderKey !== undefined && this.#flowControls.isProducerKey(senderKey)) {
      throw new FlowControlDeniedError(`A message that arrived from the network may not open a connection to ${hop.toString()}`);
    }
    const name = hop.value;
    const existing = this.#byRemote.get(name);
    if (existing) return this.#router.route(message.withOnwardRoute(message.onwardRoute.replaceFront(existing.address)), senderKey);
    if (this.#stopping) throw new TransportStoppedError();
    let dial = this.#dials.get(name);
    if (!dial) {
      parseHostPort(name, "TCP address", false);
      dial = new Dial(hop, this.#limits.maxPendingDialMessages);
      this.#dials.set(name, dial);
      void this.#dialOnDemand(name, dial);
    }
    dial.deliver(message, senderKey);
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
      dial.queue.length = 0;
      dial.settle();
      // Requests waiting on "1#<name>" as their first hop fail now rather than at their timeout.
      this.#router.unregister([new Address(TCP, name)], error as Error);
      return;
    }
    if (this.#dials.get(name) !== dial) return;
    this.#dials.delete(name);
    this.#nameRemote(connection, name);
    for (const { message, senderKey } of dial.queue.splice(0)) {
      try {
        this.#router.route(message.withOnwardRoute(message.onwardRoute.replaceFront(connection.address)), senderKey);
      } catch (error) {
        this.#log.debug(`dropped a message for ${name}`, error);
      }
    }
    dial.settle();
  }
}

function checkWait(wait: WaitOptions): void {
  if (wait === null || typeof wait !== "object") throw new InvalidOptionError("wait options must be an object");
  if (wait.timeout !== undefined && (typeof wait.timeout !== "number" || !(wait.timeout > 0))) {
    throw new InvalidOptionError(`timeout must be a positive number of milliseconds, got ${String(wait.timeout)}`);
  }
  if (wait.signal !== undefined && !(wait.signal instanceof AbortSignal)) throw new InvalidOptionError("signal must be an AbortSignal");
}

/** Opens a socket; every listener is removed in one place, and a failed or abandoned socket is destroyed. */
async function dial(host: string, port: number, wait: WaitOptions): Promise<Socket> {
  let socket: Socket | undefined;
  let onConnect: (() => void) | undefined;
  let onError: ((error: Error) => void) | undefined;
  try {
    return await waitFor<Socket>(
      (resolve, reject) => {
        const s = netConnect({ host, port, noDelay: true });
        socket = s;
        onConnect = () => resolve(s);
        onError = reject;
        s.once("connect", onConnect);
        s.once("error", onError);
      },
      {
        ...wait,
        what: `connect to ${formatHostPort(host, port)}`,
        cleanup: () => {
          if (onConnect) socket?.off("connect", onConnect);
          if (onError) socket?.off("error", onError);
        },
      },
    );
  } catch (error) {
    socket?.destroy();
    if (error instanceof AbortError || error instanceof TimeoutError) throw error;
    throw new ConnectError(`Could not connect to ${formatHostPort(host, port)}: ${(error as Error).message}`, { cause: error });
  }
}

