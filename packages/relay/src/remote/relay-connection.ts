import type { RouteLike } from "@hopwire/runtime";
import { TcpConnectionOptions, type TcpTransport } from "@hopwire/transport-tcp";

/** One way to the relay node, opened afresh by a RemoteRelay for every attempt. */
export interface RelayConnection {
  /** The route to the relay node, e.g. a TCP connection. */
  readonly route: RouteLike;
  /** Resolves when this way is gone (a RemoteRelay then reconnects at once). */
  readonly closed?: Promise<unknown>;
  /** Closes it (called when the RemoteRelay gives this way up). */
  close?(): void | Promise<void>;
}

/** Opens a {@link RelayConnection}; `signal` aborts when the RemoteRelay stops. */
export type RelayConnector = (signal: AbortSignal) => Promise<RelayConnection>;

/**
 * A connector that dials the relay node over TCP at `address` ("host:port") on every
 * attempt: the node behind NAT only ever connects out.
 */
export function tcpRelayConnector(tcp: TcpTransport, address: string, options?: () => TcpConnectionOptions): RelayConnector {
  return async (signal) => {
    const connection = await tcp.connect(address, options ? options() : new TcpConnectionOptions(), { signal });
    return { route: connection, closed: connection.whenClosed(), close: () => connection.stop() };
  };
}
