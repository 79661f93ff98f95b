import { HopwireError, registerErrorClasses } from "@hopwire/runtime";

/**
 * Thrown (logged) when a peer breaks the TCP framing protocol. The connection it arrived on
 * is closed; nothing else is affected. Subclasses name the exact violation.
 */
export class TcpProtocolError extends HopwireError {
  override readonly code: string = "TCP_PROTOCOL";
  constructor(message = "The peer broke the TCP framing protocol", options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Thrown when the peer's first byte is not a protocol version this transport speaks. */
export class TcpProtocolVersionError extends TcpProtocolError {
  override readonly code: string = "TCP_PROTOCOL_VERSION";
  constructor(message = "The peer speaks an unsupported protocol version", options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * Thrown when a frame's declared length exceeds the 16 MiB maximum: logged when a peer
 * announces one (the connection closes), thrown to a local sender whose message would
 * not fit in one frame (the connection stays open).
 */
export class FrameTooLargeError extends TcpProtocolError {
  override readonly code: string = "TCP_FRAME_TOO_LARGE";
  constructor(message = "The frame exceeds the maximum frame length", options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Thrown when the peer closes the connection in the middle of a frame. */
export class TruncatedFrameError extends TcpProtocolError {
  override readonly code: string = "TCP_FRAME_TRUNCATED";
  constructor(message = "The peer closed the connection in the middle of a frame", options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * Logged when a connection's incomplete frame takes the transport past `maxPartialFrameBytes`
 * (the bytes of incomplete frames it holds across its connections): the connection holding
 * the largest incomplete frame of the host holding the most closes (the growing one's host and
 * connection on a tie), and again until the total is within the budget.
 */
export class PartialFramesBudgetError extends TcpProtocolError {
  override readonly code: string = "TCP_PARTIAL_FRAMES_BUDGET";
  constructor(message = "Incomplete frames from the network take all the memory allowed for them", options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * Logged when the bytes queued across a transport's connections stay past `sendBufferBudget` for
 * a second, or go past twice it: the connection queueing the most of the host whose connections
 * queue the most closes, and again until the total is within the budget. Its peer had the most
 * waiting for it (it reads slowly or not at all, or was sent the most). Not a TcpProtocolError:
 * the peer broke no rule of the protocol.
 */
export class SendBufferBudgetError extends HopwireError {
  override readonly code: string = "TCP_SEND_BUFFER_BUDGET";
  constructor(message = "Messages waiting for slow peers take all the memory allowed for them", options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * Logged when a frame started arriving but did not complete within `partialFrameTimeout`
 * (a stalled or hostile peer holding a partial frame in memory); the connection closes.
 */
export class PartialFrameTimeoutError extends TcpProtocolError {
  override readonly code: string = "TCP_FRAME_TIMEOUT";
  constructor(message = "A frame did not arrive in full in time", options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Thrown when a frame does not hold a well-formed network envelope. */
export class MalformedFrameError extends TcpProtocolError {
  override readonly code: string = "TCP_FRAME_MALFORMED";
  constructor(message = "The frame does not hold a valid network envelope", options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * The reason a connection's addresses were unregistered: the peer closed it, it failed, a
 * protocol error closed it, or it was stopped locally. `cause` holds the underlying error.
 */
export class ConnectionClosedError extends HopwireError {
  override readonly code: string = "TCP_CONNECTION_CLOSED";
  constructor(message = "The TCP connection is closed", options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Thrown when an outgoing connection cannot be established (refused, unreachable, unresolvable host). */
export class ConnectError extends HopwireError {
  override readonly code: string = "TCP_CONNECT_FAILED";
  constructor(message = "Could not connect", options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Thrown when a listener cannot bind its address (in use, not permitted, unresolvable host). */
export class ListenError extends HopwireError {
  override readonly code: string = "TCP_LISTEN_FAILED";
  constructor(message = "Could not listen", options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * Thrown to a local sender when a connection's outgoing buffer is full (its peer reads too
 * slowly). Wait for `connection.waitForDrain()` and send again.
 */
export class BackpressureError extends HopwireError {
  override readonly code: string = "TCP_BACKPRESSURE";
  constructor(message = "The connection's send buffer is full", options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Thrown when a stopped transport is asked to listen or connect, or stops while a listen or connect is in progress. */
export class TransportStoppedError extends HopwireError {
  override readonly code: string = "TCP_TRANSPORT_STOPPED";
  constructor(message = "The TCP transport has stopped", options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * The cause of a ConnectionClosedError when the peer sent nothing at all (no frame, no
 * keepalive, no byte) for `peerTimeout`: it is declared dead.
 */
export class PeerTimeoutError extends HopwireError {
  override readonly code: string = "TCP_PEER_TIMEOUT";
  constructor(message = "The peer sent nothing for too long and is considered dead", options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The cause of a ConnectionClosedError when the peer sent no complete first frame within `firstFrameTimeout`. */
export class FirstFrameTimeoutError extends HopwireError {
  override readonly code: string = "TCP_FIRST_FRAME_TIMEOUT";
  constructor(message = "The peer sent no complete first frame in time", options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The cause of a ConnectionClosedError when the connection carried no message either way for `idleTimeout`. */
export class IdleTimeoutError extends HopwireError {
  override readonly code: string = "TCP_IDLE_TIMEOUT";
  constructor(message = "The connection carried no message for too long", options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * The cause of a ConnectionClosedError when an accepted connection is closed because the
 * outgoing connection its traffic was forwarded onto (the hop after a relay) died: the
 * peer learns at once that its route is broken. `cause` is the next hop's own reason.
 */
export class NextHopClosedError extends HopwireError {
  override readonly code: string = "TCP_NEXT_HOP_CLOSED";
  constructor(message = "The connection this traffic was forwarded onto closed", options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The cause of a ConnectionClosedError when a listener already holds `maxConnections` connections. */
export class ConnectionLimitError extends HopwireError {
  override readonly code: string = "TCP_CONNECTION_LIMIT";
  constructor(message = "The listener holds its maximum number of connections", options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The reason a listener refused a socket because it already holds `maxConnectionsPerHost` connections from its host (an IPv4 address or an IPv6 /64). */
export class HostConnectionLimitError extends HopwireError {
  override readonly code: string = "TCP_HOST_CONNECTION_LIMIT";
  constructor(message = "The listener holds its maximum number of connections from this host", options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * Thrown to the worker that routed a message from the network (sent by, or forwarded on
 * behalf of, a connection or a secure channel) to a "1#host:port" hop that the
 * transport's `dialAllowList` does not name. The message is dropped and counted
 * (`transport.deniedDials`); no connection is opened or used.
 */
export class DialDeniedError extends HopwireError {
  override readonly code: string = "TCP_DIAL_DENIED";
  constructor(message = "A message from the network may not use this TCP address", options?: { cause?: unknown }) {
    super(message, options);
  }
}

registerErrorClasses(
  TcpProtocolError,
  TcpProtocolVersionError,
  FrameTooLargeError,
  TruncatedFrameError,
  PartialFrameTimeoutError,
  PartialFramesBudgetError,
  SendBufferBudgetError,
  MalformedFrameError,
  ConnectionClosedError,
  ConnectError,
  ListenError,
  BackpressureError,
  TransportStoppedError,
  PeerTimeoutError,
  FirstFrameTimeoutError,
  IdleTimeoutError,
  NextHopClosedError,
  ConnectionLimitError,
  HostConnectionLimitError,
  DialDeniedError,
);
