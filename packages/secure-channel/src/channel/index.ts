export { DEFAULT_REPLAY_WINDOW_SIZE, ReplayWindow, type ReplayVerdict } from "./replay-window.js";
export {
  DEFAULT_MAX_EPOCH_SKIP,
  DEFAULT_REKEY_INTERVAL,
  DROP_REASONS,
  MAX_TRANSPORT_NONCE,
  TRANSPORT_NONCE_LENGTH,
  TRANSPORT_OVERHEAD,
  TransportDecryptor,
  TransportEncryptor,
  type DecryptResult,
  type DropReason,
  type TransportCipherOptions,
  type TransportDecryptorOptions,
} from "./transport-cipher.js";
