export { InlineChannelCipher, type ChannelCipher, type ChannelCipherOptions, type ChannelCipherSink, type ChannelKeys } from "./channel-cipher.js";
export { CryptoThreads, DEFAULT_MAX_BATCH_BYTES, ThreadedChannelCipher, type CryptoThreadsOptions } from "./crypto-threads.js";
export { CryptoThreadError } from "./crypto-thread-error.js";
export { AUTO_CRYPTO_THREADS, DEFAULT_CRYPTO_THREADS, MAX_CRYPTO_THREADS, resolveCryptoThreads, type CryptoThreadsSetting } from "./policy.js";
