import type { Server, Socket } from "node:net";
import { Address, afterClosingHandles, deferred, KeyCounts, StopOnce, type FlowControlId } from "@hopwire/runtime";
import type { TcpConnection } from "./connection.js";
import { ConnectionLimitError, HostConnectionLimitError } from "./errors.js";
import { hostKeyOf } from "./host-key.js";
import type { TcpLiveness } from "./options.js";

/** @internal Why a listener turned a socket away, and what an operator can do (the warning's advice). */
export interface ListenerRefusal {
  readonly error: ConnectionLimitError | HostConnectionLimitError;
  readonly advice: () => string;
}

/** A bound TCP server; every connection it accepts is a producer spawned by `flowControlId`. */
export class TcpListener {
  /** The bound "host:port", with the port the system chose for port 0. */
  readonly address: string;
  /** The listener's own (local) address, registered as the spawner of `flowControlId`. */
  readonly processorAddress: Address = Address.random();
  /** The spawner flow control id: make a worker its consumer to reach it from accepted connections. */
  readonly flowControlId: FlowControlId;
  /** Open accepted connections beyond which new ones are closed at once. */
  readonly maxConnections: number;
  /** Open accepted connections from one host (an IPv4 address or an IPv6 /64, see hostKeyOf) beyond which new ones from it are closed at once. */
  readonly maxConnectionsPerHost: number;
  /** The liveness settings of the connections it accepts. */
  readonly liveness: Readonly<TcpLiveness>;
  #refused = 0;
  readonly #server: Server;
  readonly #connections = new Set<TcpConnection>();
  /** Every socket the server handed over that is not closed yet (accepted, refused or turned away while stopping). */
  readonly #sockets = new Set<Socket>();
  /** Open accepted connections per host (hostKeyOf). */
  readonly #perHost = new KeyCounts();
  readonly #onStop: (listener: TcpListener, released: Promise<void>) => void;
  readonly #serverClosed: Promise<void>;
  readonly #stopOnce = new StopOnce(() => this.#stop());

  /** @internal listeners are made by TcpTransport.listen */
  constructor(
    server: Server,
    address: string,
    flowControlId: FlowControlId,
    limits: { maxConnections: number; maxConnectionsPerHost: number; liveness: TcpLiveness },
    accept: (socket: Socket, listener: TcpListener) => TcpConnection | undefined,
    refuse: (socket: Socket, listener: TcpListener, refusal: ListenerRefusal) => void,
    /** Told when a stop begins, with what settles once the stop has released everything (it never rejects). */
    onStop: (listener: TcpListener, released: Promise<void>) => void,
  ) {
    this.#server = server;
    this.address = address;
    this.flowControlId = flowControlId;
    this.maxConnections = limits.maxConnections;
    this.maxConnectionsPerHost = limits.maxConnectionsPerHost;
    this.liveness = Object.freeze({ ...limits.liveness });
    this.#onStop = onStop;
    this.#serverClosed = new Promise((resolve) => server.once("close", () => resolve()));
    server.on("connection", (socket: Socket) => {
      this.#sockets.add(socket);
      socket.once("close", () => this.#sockets.delete(socket));
      if (this.#stopOnce.started) {
        socket.destroy();
        return;
      }
      // Read now: a destroyed socket no longer knows its peer.
      const host = hostKeyOf(socket.remoteAddress ?? "?");
      const refusal = this.#refusalFor(host);
      if (refusal) {
        this.#refused++;
        refuse(socket, this, refusal);
        return;
      }
      const connection = accept(socket, this);
      if (!connection) return;
      this.#connections.add(connection);
      this.#perHost.add(host);
      void connection.whenClosed().then(() => {
        this.#connections.delete(connection);
        this.#perHost.remove(host);
      });
    });
  }

  /** The connections this listener accepted that are still open. */
  get connections(): TcpConnection[] {
    return [...this.#connections].filter((c) => !c.isClosed);
  }

  /** How many accepted connections are held now (what `maxConnections` bounds). */
  get connectionCount(): number {
    return this.#connections.size;
  }

  /**
   * How many accepted connections from the IP address `ip` (its host, as hostKeyOf counts:
   * an IPv6 address's /64) are held now: what `maxConnectionsPerHost` bounds.
   */
  connectionsFrom(ip: string): number {
    return this.#perHost.get(hostKeyOf(ip));
  }

  /** Connections closed at once because the listener already held `maxConnections`, or `maxConnectionsPerHost` from their host. */
  get refusedConnections(): number {
    return this.#refused;
  }

  /** Why a new socket from `host` (a hostKeyOf key) is turned away, if it is: the listener is full, or full for that host. */
  #refusalFor(host: string): ListenerRefusal | undefined {
    if (this.#connections.size >= this.maxConnections) {
      const max = this.maxConnections;
      return {
        error: new ConnectionLimitError(`The listener ${this.address} holds its maximum of ${connections(max)}`),
        advice: () =>
          `it holds its maximum of ${connections(max)} (maxConnections); the client's socket is closed at once. Raise maxConnections if the load is real, or find who holds them (an idle peer: idleTimeout closes it)`,
      };
    }
    if (this.#perHost.get(host) >= this.maxConnectionsPerHost) {
      const max = this.maxConnectionsPerHost;
      return {
        error: new HostConnectionLimitError(`The listener ${this.address} holds its maximum of ${connections(max)} from ${host}`),
        advice: () =>
          `it holds its maximum of ${connections(max)} from that host (maxConnectionsPerHost); the client's socket is closed at once. Raise maxConnectionsPerHost if many nodes share the address (NAT), or find what on that host holds them`,
      };
    }
    return undefined;
  }

  get isStopped(): boolean {
    return this.#stopOnce.started;
  }

  /**
   * Stops accepting, closes every connection this listener accepted, and forgets its flow.
   * Resolves once the server's handle and those sockets are released (no longer listed by
   * `process.getActiveResourcesInfo()`), not merely closing.
   */
  stop(): Promise<void> {
    return this.#stopOnce.stop();
  }

  /**
   * Resolves once the server's handle and every socket it accepted are released, not merely
   * closing. It cannot hang: each connection's stop is bounded by its close grace, and then
   * whatever socket is left is destroyed, so the server's "close" (which waits for every
   * socket it handed over) comes.
   */
  async #stop(): Promise<void> {
    this.#server.close();
    // The transport's stop waits for this one: begun here (listener.stop()), it is no longer among the transport's listeners.
    const released = deferred<void>();
    this.#onStop(this, released.promise);
    try {
      await Promise.all([...this.#connections].map((c) => c.stop()));
      for (const socket of this.#sockets) socket.destroy();
      await this.#serverClosed;
      // "close" came a tick after the last socket went, with the server's handle still closing.
      await afterClosingHandles();
    } finally {
      released.resolve();
    }
  }

  /** "TcpListener(address)", for logs. */
  toString(): string {
    return `TcpListener(${this.address})`;
  }
}

/** "1 connection", "5 connections". */
function connections(n: number): string {
  return `${n} connection${n === 1 ? "" : "s"}`;
}
