/**
 * The wire format between the node's main thread and a crypto thread. One request batch
 * (an ArrayBuffer, transferred) carries every op bound for that thread in one turn of the
 * event loop; the thread answers each batch with one result buffer (transferred back),
 * in the same order. Batches on one port are processed in the order they were posted.
 *
 * Messages (postMessage, every ArrayBuffer in the transfer list):
 *   main -> thread   [request, ...spare result buffers the main thread is done with]
 *   thread -> main   THREAD_READY once, when its modules are loaded; then
 *                    [results, request]   (the request buffer comes back for reuse)
 * Buffers may be longer than what is written in them: readers go by the counts.
 *
 * Request batch:
 *   u32 opCount, then opCount times:
 *     u8 op | u32 channelId | u32 bodyLength | body
 *   KEYS     body = u8 provider | u8 cipher | f64 rekeyInterval | sendKey[32] | receiveKey[32]
 *            (zeroed in the request buffer by the thread once the ciphers are keyed)
 *   SEAL     body = plaintext                  -> one result
 *   OPEN     body = nonce || ciphertext || tag -> one result
 *   DISPOSE  body = empty                      -> no result (the thread drops the keys)
 *
 * Result batch:
 *   u32 resultCount, then resultCount times (one per SEAL and OPEN, in request order):
 *     u8 status | u32 bodyLength | body
 *   SEALED   body = OuterKind.TRANSPORT byte || nonce || ciphertext || tag: the channel's
 *            outer TRANSPORT payload, ready to route
 *   OPENED   body = plaintext
 *   DROPPED  body = u8 index into DROP_REASONS
 *   FAILED   body = UTF-8 JSON { code, message } (keys refused, nonce exhausted, ...)
 *
 * On the main thread a result smaller than VIEW_THRESHOLD is copied out (Node's Buffer
 * pool); a larger one is handed on as a view into the result buffer, which then is not
 * reused (see README.md: copying or transferring each large result cost twice the CPU).
 *
 * All integers are little-endian (DataView with littleEndian = true); the nonce inside a
 * transport message stays big-endian as the channel's wire format says.
 */

export const enum Op {
  KEYS = 1,
  SEAL = 2,
  OPEN = 3,
  DISPOSE = 4,
}

export const enum Status {
  SEALED = 1,
  OPENED = 2,
  DROPPED = 3,
  FAILED = 4,
}

/** Results this large are handed on as views into their result buffer rather than copied. */
export const VIEW_THRESHOLD = 8 * 1024;

export const BATCH_HEADER = 4;
export const OP_HEADER = 9;
export const RESULT_HEADER = 5;

/** u8 provider | u8 cipher | f64 rekeyInterval | sendKey | receiveKey */
export const KEYS_BODY_LENGTH = 1 + 1 + 8 + 32 + 32;

export const PROVIDER_CODES = ["node", "noble"] as const;
export const CIPHER_CODES = ["AESGCM", "ChaChaPoly"] as const;

/** The thread's first message: its modules are loaded, it takes batches now. */
export const THREAD_READY = "ready";
