/**
 * The body of one crypto thread: it hosts the TransportEncryptor / TransportDecryptor of
 * every channel end pinned to it (nonce counters, replay windows and rekeys live here),
 * and answers each request batch with one result batch. See batch-protocol.ts.
 *
 * Loaded as compiled JavaScript (dist/crypto-threads/crypto-thread-entry.js) by
 * CryptoThreads; it imports only pure modules of this package (and the runtime's errors).
 */
import { parentPort, workerData } from "node:worker_threads";
import { DROP_REASONS, TRANSPORT_OVERHEAD, TransportDecryptor, TransportEncryptor } from "../channel/transport-cipher.js";
import { getCryptoProvider } from "../crypto/index.js";
import { errorToData, HopwireError, type ErrorData } from "@hopwire/runtime/errors";
import { OuterKind } from "../secure-channel/channel-message.js";
import { BATCH_HEADER, CIPHER_CODES, KEYS_BODY_LENGTH, Op, OP_HEADER, PROVIDER_CODES, RESULT_HEADER, Status, THREAD_READY } from "./batch-protocol.js";

interface Hosted {
  readonly encryptor: TransportEncryptor;
  readonly decryptor: TransportDecryptor;
}

/** A channel whose keys were refused: every later op of it fails with this error. */
interface Failed {
  readonly failure: Uint8Array;
}

const channels = new Map<number, Hosted | Failed>();
const encoder = new TextEncoder();
const UNKNOWN_CHANNEL = failureBytes({ code: "DISPOSED", name: "DisposedError", message: "the channel's keys are gone from its crypto thread" });

function failureBytes(data: ErrorData): Uint8Array {
  return encoder.encode(JSON.stringify(data));
}

/** The error as data (rebuilt as its own class on the channel's side); anything foreign becomes a CryptoThreadError. */
function errorBytes(error: unknown): Uint8Array {
  if (error instanceof HopwireError) return failureBytes(errorToData(error));
  return failureBytes({ code: "CRYPTO_THREAD_FAILED", name: "CryptoThreadError", message: error instanceof Error ? error.message : String(error) });
}

function installKeys(channelId: number, bytes: Uint8Array, view: DataView, at: number): void {
  try {
    const provider = getCryptoProvider(PROVIDER_CODES[bytes[at]!] ?? ("?" as "node"));
    const cipher = CIPHER_CODES[bytes[at + 1]!] ?? "AESGCM";
    const rekeyInterval = view.getFloat64(at + 2, true);
    const sendKey = bytes.subarray(at + 10, at + 42);
    const receiveKey = bytes.subarray(at + 42, at + 74);
    const options = { provider, cipher, rekeyInterval };
    if (channels.has(channelId)) disposeChannel(channelId);
    channels.set(channelId, { encryptor: new TransportEncryptor(sendKey, options), decryptor: new TransportDecryptor(receiveKey, options) });
  } catch (error) {
    channels.set(channelId, { failure: errorBytes(error) });
  } finally {
    bytes.fill(0, at, at + KEYS_BODY_LENGTH); // the raw keys leave this batch now
  }
}

function disposeChannel(channelId: number): void {
  const hosted = channels.get(channelId);
  channels.delete(channelId);
  if (hosted && "encryptor" in hosted) {
    hosted.encryptor.dispose();
    hosted.decryptor.dispose();
  }
}

/** Result buffers the main thread gave back, for reuse. */
const spares: ArrayBuffer[] = [];

function resultBuffer(bound: number): Uint8Array {
  while (spares.length > 0) {
    const spare = spares.pop()!;
    if (spare.byteLength >= bound) return new Uint8Array(spare);
  }
  return unzeroed(Math.max(bound, 64 * 1024));
}

/**
 * A fresh buffer without the zero-fill: every byte the reader goes by is written before it
 * is posted (the tail past the last result is never read). The fill was a quarter of a
 * 16 KiB stream's thread time, large results being views that keep their buffer.
 */
function unzeroed(length: number): Uint8Array {
  const buffer = Buffer.allocUnsafeSlow(length);
  return new Uint8Array(buffer.buffer, buffer.byteOffset, length);
}

/**
 * Runs one request batch and returns its result batch. The result buffer may be longer
 * than the results (a reused buffer): the reader stops after resultCount results.
 */
export function runBatch(request: ArrayBuffer): ArrayBuffer {
  const bytes = new Uint8Array(request);
  const view = new DataView(request);
  const opCount = view.getUint32(0, true);

  // First pass: how many results, and an upper bound of their size.
  let resultCount = 0;
  let bound = BATCH_HEADER;
  for (let i = 0, at = BATCH_HEADER; i < opCount; i++) {
    const op = bytes[at]!;
    const length = view.getUint32(at + 5, true);
    if (op === Op.SEAL) {
      resultCount++;
      bound += RESULT_HEADER + 1 + TRANSPORT_OVERHEAD + length;
    } else if (op === Op.OPEN) {
      resultCount++;
      bound += RESULT_HEADER + Math.max(length - TRANSPORT_OVERHEAD, 1); // a plaintext or a drop reason; failures grow the buffer
    }
    at += OP_HEADER + length;
  }

  let out = resultBuffer(bound);
  let outView = new DataView(out.buffer);
  outView.setUint32(0, resultCount, true);
  let w = BATCH_HEADER;

  const ensure = (extra: number): void => {
    if (w + extra <= out.length) return;
    const bigger = unzeroed(Math.max(out.length * 2, w + extra));
    bigger.set(out.subarray(0, w));
    out = bigger;
    outView = new DataView(out.buffer);
  };
  const fail = (failure: Uint8Array): void => {
    ensure(RESULT_HEADER + failure.length);
    out[w] = Status.FAILED;
    outView.setUint32(w + 1, failure.length, true);
    out.set(failure, w + RESULT_HEADER);
    w += RESULT_HEADER + failure.length;
  };

  for (let i = 0, at = BATCH_HEADER; i < opCount; i++) {
    const op = bytes[at]!;
    const channelId = view.getUint32(at + 1, true);
    const length = view.getUint32(at + 5, true);
    const bodyAt = at + OP_HEADER;
    at = bodyAt + length;
    switch (op) {
      case Op.KEYS:
        installKeys(channelId, bytes, view, bodyAt);
        break;
      case Op.DISPOSE:
        disposeChannel(channelId);
        break;
      case Op.SEAL: {
        const hosted = channels.get(channelId);
        if (hosted === undefined) fail(UNKNOWN_CHANNEL);
        else if ("failure" in hosted) fail(hosted.failure);
        else {
          try {
            const size = 1 + TRANSPORT_OVERHEAD + length;
            ensure(RESULT_HEADER + size);
            out[w + RESULT_HEADER] = OuterKind.TRANSPORT;
            hosted.encryptor.encryptInto(bytes.subarray(bodyAt, bodyAt + length), out, w + RESULT_HEADER + 1);
            out[w] = Status.SEALED;
            outView.setUint32(w + 1, size, true);
            w += RESULT_HEADER + size;
          } catch (error) {
            fail(errorBytes(error));
          }
        }
        break;
      }
      case Op.OPEN: {
        const hosted = channels.get(channelId);
        if (hosted === undefined) fail(UNKNOWN_CHANNEL);
        else if ("failure" in hosted) fail(hosted.failure);
        else {
          try {
            const result = hosted.decryptor.decrypt(bytes.subarray(bodyAt, bodyAt + length));
            if (result.ok) {
              const plaintext = result.plaintext;
              ensure(RESULT_HEADER + plaintext.length);
              out[w] = Status.OPENED;
              outView.setUint32(w + 1, plaintext.length, true);
              out.set(plaintext, w + RESULT_HEADER);
              w += RESULT_HEADER + plaintext.length;
            } else {
              ensure(RESULT_HEADER + 1);
              out[w] = Status.DROPPED;
              outView.setUint32(w + 1, 1, true);
              out[w + RESULT_HEADER] = DROP_REASONS.indexOf(result.reason);
              w += RESULT_HEADER + 1;
            }
          } catch (error) {
            fail(errorBytes(error));
          }
        }
        break;
      }
      default:
        throw new Error(`crypto thread: unknown op ${op}`);
    }
  }
  // The tail past `w` is ignored by the reader: no trimming copy.
  return out.buffer as ArrayBuffer;
}

// Only when started as a crypto thread (importing this module elsewhere, e.g. in a test, is inert).
const port = parentPort;
if (port && (workerData as { hopwireCryptoThread?: boolean } | undefined)?.hopwireCryptoThread === true) {
  // [request, ...spare result buffers] in; [results, request] out, both transferred.
  port.on("message", (message: ArrayBuffer[]) => {
    const request = message[0]!;
    for (let i = 1; i < message.length; i++) if (spares.length < 4) spares.push(message[i]!);
    const results = runBatch(request);
    const reply = [results, request];
    port.postMessage(reply, reply);
  });
  port.postMessage(THREAD_READY);
}
