/**
 * The wire format between the node's main thread and a crypto thread. One request batch
 * (an ArrayBuffer, transferred) carries every op bound for that thread in one turn of the
 * event loop; the thread answers each batch with one result buffer (transferred back),
 * in the same order. Batches on one port are processed in the order they were posted.
 *
 * Request batch:
 *   u32 opCount, then opCount times:
 *     u8 op | u32 channelId | u32 bodyLength | body
 *   KEYS     body = u8 provider | u8 cipher | f64 rekeyInterval | sendKey[32] | receiveKey[32]
 *   SEAL     body = plaintext                  -> one result
 *   OPEN     body = nonce || ciphertext || tag -> one result
 *   DISPOSE  body = empty                      -> no result (the thread drops and zeroes the keys)
 *
 * Result batch:
 *   u32 resultCount, then resultCount times (one per SEAL and OPEN, in request order):
 *     u8 status | u32 bodyLength | body
 *   SEALED   body = OuterKind.TRANSPORT byte || nonce || ciphertext || tag: the channel's
 *            outer TRANSPORT payload, ready to route without another copy
 *   OPENED   body = plaintext
 *   DROPPED  body = u8 index into DROP_REASONS
 *   FAILED   body = UTF-8 JSON { code, message } (keys refused, nonce exhausted, ...)
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

export const BATCH_HEADER = 4;
export const OP_HEADER = 9;
export const RESULT_HEADER = 5;

/** u8 provider | u8 cipher | f64 rekeyInterval | sendKey | receiveKey */
export const KEYS_BODY_LENGTH = 1 + 1 + 8 + 32 + 32;

export const PROVIDER_CODES = ["node", "noble"] as const;
export const CIPHER_CODES = ["AESGCM", "ChaChaPoly"] as const;
