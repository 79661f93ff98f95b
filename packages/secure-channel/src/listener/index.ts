export { createSecureChannelListener, SecureChannelListener, MAX_PENDING_HANDSHAKES } from "./secure-channel-listener.js";
export { DEFAULT_HANDSHAKE_LIMITS, type HandshakeLimits } from "./handshake-limits.js";
