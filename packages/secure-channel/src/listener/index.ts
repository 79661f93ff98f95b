export {
  createSecureChannelListener,
  SecureChannelListener,
  HANDSHAKE_STARTS_PER_TURN,
  MAX_PENDING_HANDSHAKES,
  REFUSED_CONNECTION_PAUSE_MS,
} from "./secure-channel-listener.js";
export { DEFAULT_HANDSHAKE_LIMITS, type HandshakeLimits } from "./handshake-limits.js";
export { DEFAULT_MAX_CHANNELS, DEFAULT_MAX_CHANNELS_PER_CONNECTION } from "./channel-limits.js";
