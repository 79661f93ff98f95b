export { createSecureChannel } from "./create-secure-channel.js";
export { SecureChannel } from "./secure-channel.js";
export { SecureChannelOptions, SecureChannelListenerOptions, DEFAULT_HANDSHAKE_TIMEOUT } from "./secure-channel-options.js";
export type { ChannelOptionsInit, SecureChannelOptionsInit, SecureChannelListenerOptionsInit } from "./plain-options.js";
export {
  SecureChannelRefusedError,
  SecureChannelClosedError,
  SecureChannelHandshakeError,
  SecureChannelCreditExceededError,
  SecureChannelPeerGoneError,
  SecureChannelPeerStalledError,
  SecureChannelClosedByPeerError,
  SecureChannelTransportError,
  SecureChannelMessageTooLargeError,
  SECURE_CHANNEL_REFUSAL_CODES,
  type SecureChannelCloseReason,
  type SecureChannelRefusalCode,
  type SecureChannelRefusalReason,
} from "./channel-errors.js";
export { MAX_CHANNEL_MESSAGE_LENGTH } from "./channel-end.js";
export { CLOSED_CHANNEL_MEMORY, secureChannelFirstHop, secureChannelRemoteRoute, shareSecureChannelCredit } from "./channel-registry.js";
export { DEFAULT_KEEPALIVE_INTERVAL, DEFAULT_PEER_TIMEOUT, MIN_KEEPALIVE_INTERVAL, MIN_PEER_TIMEOUT } from "./liveness.js";
export { DEFAULT_HEARTBEATS_PER_SECOND, setHeartbeatBudget } from "./heartbeat-budget.js";
export { DEFAULT_SEND_QUEUE_BUDGET, setSendQueueBudget, sendQueueUse } from "./send-queue-budget.js";
export { SHARED_HOLD_BYTES, SHARED_HOLD_PER_FEEDER_BYTES, SHARED_HOLD_STALL_SHARE } from "./shared-hold.js";
export { DEFAULT_RECEIVE_WINDOW, encodeCredit, decodeCredit, type CreditWindow, type CreditRecord } from "./credit.js";
export { peerIdentifierOf, SECURE_CHANNEL_IDENTIFIER } from "./local-info.js";
export { CHANNEL_KEPT_HEAD_BYTES, CHANNEL_KEPT_HEADS_BUDGET, CHANNEL_MAX_HEAD_COST, channelKeptHeadBytes } from "./kept-heads.js";
