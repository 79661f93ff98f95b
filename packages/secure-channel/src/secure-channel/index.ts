export { createSecureChannel } from "./create-secure-channel.js";
export { SecureChannel } from "./secure-channel.js";
export { SecureChannelOptions, SecureChannelListenerOptions, DEFAULT_HANDSHAKE_TIMEOUT } from "./secure-channel-options.js";
export { SecureChannelRefusedError, SecureChannelClosedError, SecureChannelHandshakeError } from "./channel-errors.js";
export { peerIdentifierOf, SECURE_CHANNEL_IDENTIFIER } from "./local-info.js";
