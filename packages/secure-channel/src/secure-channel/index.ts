export { createSecureChannel } from "./create-secure-channel.js";
export { SecureChannel } from "./secure-channel.js";
export { SecureChannelOptions, SecureChannelListenerOptions, DEFAULT_HANDSHAKE_TIMEOUT } from "./secure-channel-options.js";
export type { ChannelOptionsInit, SecureChannelOptionsInit, SecureChannelListenerOptionsInit } from "./plain-options.js";
export {
  SecureChannelRefusedError,
  SecureChannelClosedError,
  SecureChannelHandshakeError,
  SecureChannelCreditExceededError,
} from "./channel-errors.js";
export { DEFAULT_RECEIVE_WINDOW, encodeCredit, decodeCredit, type CreditWindow, type CreditRecord } from "./credit.js";
export { peerIdentifierOf, SECURE_CHANNEL_IDENTIFIER } from "./local-info.js";
