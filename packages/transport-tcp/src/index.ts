export { createTcpTransport, TcpTransport } from "./transport.js";
export { TcpConnection } from "./connection.js";
export { TcpListener } from "./listener.js";
export { TcpConnectionOptions, TcpListenerOptions, type TcpTransportOptions } from "./options.js";
export type { TcpConnectOptions, TcpListenOptions } from "./plain-options.js";
export {
  TcpProtocolError,
  TcpProtocolVersionError,
  FrameTooLargeError,
  TruncatedFrameError,
  PartialFrameTimeoutError,
  MalformedFrameError,
  ConnectionClosedError,
  ConnectError,
  ListenError,
  BackpressureError,
  TransportStoppedError,
} from "./errors.js";
export { PROTOCOL_VERSION, MAX_FRAME_LENGTH, TCP } from "./protocol.js";
