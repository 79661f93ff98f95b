export { createTcpTransport, tcpTransportOf, TcpTransport } from "./transport.js";
export { TcpConnection, type TcpConnectionState } from "./connection.js";
export { TcpListener } from "./listener.js";
export {
  TcpConnectionOptions,
  TcpListenerOptions,
  DEFAULT_MAX_PARTIAL_FRAME_BYTES,
  DEFAULT_SEND_BUFFER_BUDGET,
  DEFAULT_MAX_CONNECTIONS_PER_HOST,
  DEFAULT_SEND_HIGH_WATER_MARK,
  type TcpTransportOptions,
  type TcpLiveness,
  type TcpReconnectOptions,
  type ResolvedTcpReconnect,
} from "./options.js";
export type { TcpConnectOptions, TcpKeepaliveOptions, TcpListenOptions } from "./plain-options.js";
export {
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
} from "./errors.js";
export { PROTOCOL_VERSION, MAX_FRAME_LENGTH, KEEPALIVE_FRAME_LENGTH, REPEATED_HEAD_FRAME, TCP, KEPT_HEADS_BUDGET } from "./protocol.js";
