import type { Worker } from "node:worker_threads";
import { atTurnEnd, deferred, describeValue, errorFromData, HopwireError, startThread, waitFor, type ErrorData, type Logger, type Node } from "@hopwire/runtime";
import { DROP_REASONS, type DropReason } from "../channel/transport-cipher.js";
import { KEY_LENGTH, type CryptoProvider } from "../crypto/provider.js";
import { InvalidKeyError } from "../errors.js";
import { checkNoNullOptions } from "../null-options.js";
import { assertNode } from "../secure-channel/node-argument.js";
import { BATCH_HEADER, CIPHER_CODES, KEYS_BODY_LENGTH, Op, OP_HEADER, PROVIDER_CODES, RESULT_HEADER, Status, THREAD_READY, VIEW_THRESHOLD } from "./batch-protocol.js";
import type { ChannelCipher, ChannelCipherOptions, ChannelCipherSink, ChannelKeys } from "./channel-cipher.js";
import { CryptoThreadError } from "./crypto-thread-error.js";
import { cryptoThreadsOn, type CryptoThreadsSetting } from "./policy.js";

/**
 * A batch is posted as soon as it holds this many bytes, without waiting for the end of
 * the turn: it bounds a batch's memory and lets the thread start on it while the main
 * thread fills the next one.
 */
export const DEFAULT_MAX_BATCH_BYTES = 1024 * 1024;

/** How long node.stop() waits for batches in flight (CLOSE messages) before terminating the threads. */
const DRAIN_TIMEOUT_MS = 2_000;

const EMPTY = new Uint8Array(0);
const decoder = new TextDecoder();

/** Options of a crypto thread pool. */
export interface CryptoThreadsOptions {
  /** Logger for thread failures (default: silent). */
  readonly log?: Logger;
  /** See DEFAULT_MAX_BATCH_BYTES. */
  readonly maxBatchBytes?: number;
}

/**
 * The transport ciphers of one channel end, hosted by one crypto thread. Every op goes to
 * that thread, in issue order, inside the next batch; results come back in the same order.
 */
export class ThreadedChannelCipher implements ChannelCipher {
  readonly threaded = true;
  readonly #thread: CryptoThread;
  readonly #sink: ChannelCipherSink;
  #dropped = 0;
  #disposed = false;
  #failed = false;

  /** @internal created by CryptoThreads.createCipher */
  constructor(
    thread: CryptoThread,
    /** This channel's id on its thread. */
    readonly id: number,
    sink: ChannelCipherSink,
  ) {
    this.#thread = thread;
    this.#sink = sink;
  }

  /** Which of the pool's threads hosts this channel. */
  get threadIndex(): number {
    return this.#thread.index;
  }

  get dropped(): number {
    return this.#dropped;
  }

  seal(kind: number, head: Uint8Array, body: Uint8Array): void {
    if (!this.#disposed) this.#thread.enqueueSeal(this.id, kind, head, body, this);
  }

  open(transportMessage: Uint8Array): void {
    if (!this.#disposed) this.#thread.enqueue(Op.OPEN, this.id, transportMessage, this);
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#thread.enqueue(Op.DISPOSE, this.id, EMPTY, undefined);
    this.#thread.detach(this);
  }

  /** @internal one result of a batch, in order. */
  deliver(status: number, body: Uint8Array): void {
    switch (status) {
      case Status.SEALED:
        return this.#sink.sealed(body);
      case Status.OPENED:
        return this.#sink.opened(body);
      case Status.DROPPED:
        this.#dropped++;
        return this.#sink.dropped(DROP_REASONS[body[0]!] ?? ("AUTH_FAILED" as DropReason));
      default:
        return this.fail(failureFrom(body));
    }
  }

  /** @internal */
  fail(error: Error): void {
    if (this.#failed) return;
    this.#failed = true;
    this.#sink.failed(error);
  }

  /** @internal the pool is stopping */
  stopping(): void {
    this.#sink.stopping?.();
  }
}

function failureFrom(body: Uint8Array): Error {
  try {
    const data = JSON.parse(decoder.decode(body)) as ErrorData;
    const error = errorFromData(data);
    return error instanceof HopwireError ? error : new CryptoThreadError(data.message, { cause: error });
  } catch (error) {
    return new CryptoThreadError("A crypto thread sent an unreadable failure", { cause: error });
  }
}

/**
 * bytes[start, end) in memory of its own, as a plain Uint8Array. Buffer.allocUnsafe skips
 * the zero-fill of a fresh ArrayBuffer (the bytes are overwritten at once) and serves small
 * sizes from Node's shared pool, as node:crypto's own outputs are.
 */
function copyOut(bytes: Uint8Array, start: number, end: number): Uint8Array {
  const copy = Buffer.allocUnsafe(end - start);
  copy.set(bytes.subarray(start, end));
  return new Uint8Array(copy.buffer, copy.byteOffset, copy.byteLength);
}

/** Buffers kept for reuse on each side (a few batches in flight need no more). */
const MAX_SPARE_BUFFERS = 4;

/**
 * One dedicated worker thread, the batch being written for it and its batches in flight.
 * Buffers go round: a request buffer comes back with its results and is written again;
 * a result buffer goes back with the next request once its results were copied out, so
 * the steady state allocates no batch buffers (fresh large buffers cost page faults).
 */
class CryptoThread {
  readonly #worker: Worker;
  readonly #pool: CryptoThreads;
  readonly #maxBatchBytes: number;
  readonly #ciphers = new Set<ThreadedChannelCipher>();
  // The batch being written: ops go straight into #buffer.
  #buffer: Uint8Array | undefined;
  #view: DataView | undefined;
  #w = BATCH_HEADER;
  #count = 0;
  #targets: ThreadedChannelCipher[] = [];
  #scheduled = false;
  // Posted batches, oldest first: the ciphers their results are for, in order.
  readonly #inflight: ThreadedChannelCipher[][] = [];
  readonly #freeRequests: ArrayBuffer[] = [];
  #spareResults: ArrayBuffer[] = [];
  #idleWaiters: (() => void)[] = [];
  #dead = false;
  #terminating = false;
  /** Settles once the thread has loaded its modules (or has died first). */
  readonly #started = deferred<void>();
  #ready = false;
  batches = 0;
  ops = 0;
  results = 0;

  constructor(
    readonly index: number,
    pool: CryptoThreads,
    maxBatchBytes: number,
  ) {
    this.#pool = pool;
    this.#maxBatchBytes = maxBatchBytes;
    this.#worker = startThread(new URL("./crypto-thread-entry.js", import.meta.url), { workerData: { hopwireCryptoThread: true } });
    this.#worker.unref(); // referenced only while batches are in flight
    this.#started.promise.catch(() => {}); // a thread nobody waited for that dies is reported by #die
    this.#worker.on("message", (message: [ArrayBuffer, ArrayBuffer] | typeof THREAD_READY) => {
      if (message !== THREAD_READY) return this.#onResult(message[0], message[1]);
      this.#ready = true;
      this.#started.resolve();
    });
    this.#worker.on("error", (error) => this.#die(new CryptoThreadError(`Crypto thread ${index} failed: ${error.message}`, { cause: error })));
    this.#worker.on("exit", (code) => {
      if (!this.#terminating) this.#die(new CryptoThreadError(`Crypto thread ${index} exited (code ${code})`));
    });
  }

  /** Resolves once the thread takes batches; rejects if it dies first. */
  get started(): Promise<void> {
    return this.#started.promise;
  }

  /** The thread has loaded its modules and takes batches. */
  get ready(): boolean {
    return this.#ready;
  }

  /** Channels pinned to this thread. */
  get channels(): number {
    return this.#ciphers.size;
  }

  get dead(): boolean {
    return this.#dead;
  }

  attach(cipher: ThreadedChannelCipher, keys: Uint8Array): void {
    this.#ciphers.add(cipher);
    this.enqueue(Op.KEYS, cipher.id, keys, undefined);
    keys.fill(0); // the only other copy is in the batch, zeroed by the thread
  }

  detach(cipher: ThreadedChannelCipher): void {
    this.#ciphers.delete(cipher);
  }

  ciphers(): ThreadedChannelCipher[] {
    return [...this.#ciphers];
  }

  /** Room for `bytes` more in the batch being written (posting it first if it is full); returns the offset. */
  #reserve(bytes: number): number {
    if (this.#buffer !== undefined && this.#w + bytes > this.#buffer.length) {
      if (this.#count > 0) this.flush();
      this.#buffer = undefined; // (an empty buffer too small for this op is dropped)
      this.#view = undefined;
    }
    if (this.#buffer === undefined) {
      const need = BATCH_HEADER + bytes;
      let buffer: ArrayBuffer | undefined;
      while (this.#freeRequests.length > 0) {
        const candidate = this.#freeRequests.pop()!;
        if (candidate.byteLength >= need) {
          buffer = candidate;
          break;
        }
      }
      // Unzeroed: every byte a batch uses is written before it is read (the profile showed
      // the zero-fill of fresh 1.25 MiB buffers at 18% of a sender's main thread).
      buffer ??= Buffer.allocUnsafeSlow(Math.max(need, this.#maxBatchBytes + (this.#maxBatchBytes >> 2))).buffer as ArrayBuffer;
      this.#buffer = new Uint8Array(buffer);
      this.#view = new DataView(buffer);
      this.#w = BATCH_HEADER;
    }
    return this.#w;
  }

  /** Ends an op of `bytes` bytes written at the reserved offset. */
  #commit(bytes: number, target: ThreadedChannelCipher | undefined): void {
    this.#w += bytes;
    this.#count++;
    if (target !== undefined) this.#targets.push(target);
    if (this.#w >= this.#maxBatchBytes) this.flush();
    else if (!this.#scheduled) {
      this.#scheduled = true;
      atTurnEnd(this.#flushSoon);
    }
  }

  enqueue(op: Op, id: number, body: Uint8Array, target: ThreadedChannelCipher | undefined): void {
    if (this.#dead) return;
    const at = this.#reserve(OP_HEADER + body.length);
    const buffer = this.#buffer!;
    const view = this.#view!;
    buffer[at] = op;
    view.setUint32(at + 1, id, true);
    view.setUint32(at + 5, body.length, true);
    buffer.set(body, at + OP_HEADER);
    this.#commit(OP_HEADER + body.length, target);
  }

  /** A SEAL of the plaintext [kind] || head || body, written in place. */
  enqueueSeal(id: number, kind: number, head: Uint8Array, body: Uint8Array, target: ThreadedChannelCipher): void {
    if (this.#dead) return;
    const length = 1 + head.length + body.length;
    const at = this.#reserve(OP_HEADER + length);
    const buffer = this.#buffer!;
    const view = this.#view!;
    buffer[at] = Op.SEAL;
    view.setUint32(at + 1, id, true);
    view.setUint32(at + 5, length, true);
    buffer[at + OP_HEADER] = kind;
    buffer.set(head, at + OP_HEADER + 1);
    buffer.set(body, at + OP_HEADER + 1 + head.length);
    this.#commit(OP_HEADER + length, target);
  }

  readonly #flushSoon = (): void => {
    this.#scheduled = false;
    this.flush();
  };

  /** Posts the batch being written: its buffer (and spare result buffers) are transferred. */
  flush(): void {
    const buffer = this.#buffer;
    if (buffer === undefined || this.#count === 0 || this.#dead) return;
    this.#view!.setUint32(0, this.#count, true);
    this.#inflight.push(this.#targets);
    this.batches++;
    this.ops += this.#count;
    this.#buffer = undefined;
    this.#view = undefined;
    this.#count = 0;
    this.#targets = [];
    if (this.#inflight.length === 1) this.#worker.ref();
    const message: ArrayBuffer[] = [buffer.buffer as ArrayBuffer, ...this.#spareResults];
    this.#spareResults = [];
    this.#worker.postMessage(message, message);
  }

  #onResult(result: ArrayBuffer, request: ArrayBuffer): void {
    const targets = this.#inflight.shift();
    if (this.#freeRequests.length < MAX_SPARE_BUFFERS) this.#freeRequests.push(request);
    if (this.#inflight.length === 0) this.#becameIdle();
    if (targets === undefined) return;
    const bytes = new Uint8Array(result);
    const view = new DataView(result);
    const count = view.getUint32(0, true);
    this.results += count;
    let at = BATCH_HEADER;
    let viewed = false;
    for (let i = 0; i < count; i++) {
      const status = bytes[at]!;
      const length = view.getUint32(at + 1, true);
      const start = at + RESULT_HEADER;
      at = start + length;
      try {
        if (length >= VIEW_THRESHOLD) {
          // Large: a view, no copy; the buffer stays with the messages (at most a batch's
          // size pinned per message, ~128x the message, like Node's own socket chunks).
          viewed = true;
          targets[i]!.deliver(status, new Uint8Array(result, start, length));
        } else {
          // Small: a copy of its own, so that the buffer can go round again and a kept
          // message does not pin a whole batch.
          targets[i]!.deliver(status, copyOut(bytes, start, at));
        }
      } catch (error) {
        this.#pool.log?.warn("a crypto thread result could not be handled", error);
      }
    }
    if (!viewed && this.#spareResults.length < MAX_SPARE_BUFFERS && !this.#dead) this.#spareResults.push(result);
  }

  #becameIdle(): void {
    if (!this.#terminating) this.#worker.unref();
    for (const resolve of this.#idleWaiters.splice(0)) resolve();
  }

  /** Resolves when no batch is in flight. */
  idle(): Promise<void> {
    if (this.#inflight.length === 0 || this.#dead) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  #die(error: Error): void {
    if (this.#dead) return;
    this.#dead = true;
    this.#started.reject(error);
    if (!this.#terminating) this.#pool.log?.warn(error.message);
    this.#inflight.length = 0;
    this.#buffer = undefined;
    this.#view = undefined;
    this.#count = 0;
    this.#targets = [];
    this.#freeRequests.length = 0;
    this.#spareResults = [];
    for (const resolve of this.#idleWaiters.splice(0)) resolve();
    const ciphers = this.ciphers();
    this.#ciphers.clear();
    for (const cipher of ciphers) {
      try {
        cipher.fail(error);
      } catch (failure) {
        this.#pool.log?.warn("closing a channel of a failed crypto thread failed", failure);
      }
    }
    this.#pool.forget(this);
    if (!this.#terminating) {
      this.#terminating = true;
      void this.#worker.terminate();
    }
  }

  async terminate(): Promise<void> {
    this.#terminating = true;
    this.#die(new CryptoThreadError("The crypto threads were closed"));
    await this.#worker.terminate();
  }
}

const byNode = new WeakMap<Node, CryptoThreads>();

/**
 * A small pool of dedicated crypto threads. Each channel end is pinned to one thread (the
 * least loaded, ties taken in turn), which hosts its TransportEncryptor and
 * TransportDecryptor, so the channel's order, nonce counter, replay window and rekeys stay
 * in one place. The ops bound for one thread in one turn of the event loop travel in ONE
 * transferred ArrayBuffer; the thread answers with one buffer of results, in order.
 *
 * One pool per node: `CryptoThreads.forNode(node, n)` creates it on first use and closes
 * it on node.stop(). Threads are unref'd while idle, so they never keep a process alive.
 */
export class CryptoThreads {
  readonly log: Logger | undefined;
  readonly #maxBatchBytes: number;
  readonly #slots: (CryptoThread | undefined)[] = [];
  #size = 0;
  #nextId = 1;
  #turn = 0;
  #closing: Promise<void> | undefined;

  constructor(size: number, options: CryptoThreadsOptions = {}) {
    checkNoNullOptions(options, "CryptoThreads options");
    this.log = options.log;
    this.#maxBatchBytes = options.maxBatchBytes ?? DEFAULT_MAX_BATCH_BYTES;
    this.grow(size);
  }

  /** The node's pool, if a channel has asked for crypto threads. */
  static of(node: Node): CryptoThreads | undefined {
    return byNode.get(node);
  }

  /** The node's pool, created on first use with `size` threads (grown if a later channel asks for more). */
  static forNode(node: Node, size: number): CryptoThreads {
    assertNode(node, { what: "CryptoThreads.forNode", usage: "CryptoThreads.forNode(node, size)" });
    let pool = byNode.get(node);
    if (pool === undefined || pool.closed) {
      pool = new CryptoThreads(size, { log: node.log.child("crypto-threads") });
      byNode.set(node, pool);
      const created = pool;
      node.onStop(() => created.close());
    } else pool.grow(size);
    return pool;
  }

  /** How many threads channels may be spread over (threads start when the first channel lands on them). */
  get size(): number {
    return this.#size;
  }

  /** Threads running now. */
  get threadCount(): number {
    return this.#slots.filter((t) => t !== undefined).length;
  }

  /** Threads that have loaded their modules and take batches (a listener or an initiator that asks for threads waits for them). */
  get readyThreadCount(): number {
    return this.#slots.filter((t) => t?.ready === true && !t.dead).length;
  }

  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /** Batches posted, ops they carried and results received so far (threads running now). */
  get stats(): { batches: number; ops: number; results: number } {
    const stats = { batches: 0, ops: 0, results: 0 };
    for (const thread of this.#slots) {
      if (thread === undefined) continue;
      stats.batches += thread.batches;
      stats.ops += thread.ops;
      stats.results += thread.results;
    }
    return stats;
  }

  /** Channels pinned to each thread (0 for a thread not started). */
  channelsPerThread(): number[] {
    return Array.from({ length: this.#size }, (_, i) => this.#slots[i]?.channels ?? 0);
  }

  /**
   * Starts the first `threads` threads (default: all) that are not running, and resolves once
   * each has loaded its modules. A thread's start costs ~0.15 s of CPU, six handshakes' worth:
   * listeners and initiators that ask for threads start them before a handshake's clock runs,
   * so that a starved machine does not spend a handshake's timeout on it.
   */
  async start(threads = this.#size): Promise<void> {
    if (this.closed) throw new CryptoThreadError("The crypto threads are closed");
    const n = Math.min(Math.max(1, threads), this.#size);
    const starting: Promise<void>[] = [];
    for (let i = 0; i < n; i++) starting.push(this.#slot(i).started);
    await Promise.all(starting);
  }

  /** Starts threads until the pool has `size` (never shrinks). */
  grow(size: number): void {
    if (!Number.isSafeInteger(size) || size < 1) throw new CryptoThreadError(`A crypto thread pool needs at least one thread; got ${describeValue(size)}`);
    if (size > this.#size) this.#size = size;
  }

  /**
   * Pins a channel end to one of the first `threads` threads (default: all) and sends its
   * keys there, ahead of any op. The key bytes are copied once and the copies zeroed as
   * soon as they are in the batch; `keys` themselves are left to the caller.
   */
  createCipher(keys: ChannelKeys, options: ChannelCipherOptions, sink: ChannelCipherSink, threads = this.#size): ThreadedChannelCipher {
    if (this.closed) throw new CryptoThreadError("The crypto threads are closed");
    const thread = this.#pick(Math.min(Math.max(1, threads), this.#size));
    const id = this.#nextId;
    this.#nextId = this.#nextId >= 0xffff_ffff ? 1 : this.#nextId + 1;
    const cipher = new ThreadedChannelCipher(thread, id, sink);
    thread.attach(cipher, encodeKeys(keys, options));
    return cipher;
  }

  /** Least loaded among the first `n` slots; ties go round robin. Starts the thread if needed. */
  #pick(n: number): CryptoThread {
    let best = -1;
    let bestLoad = Infinity;
    for (let k = 0; k < n; k++) {
      const i = (this.#turn + k) % n;
      const load = this.#slots[i]?.channels ?? 0;
      if (load < bestLoad) {
        best = i;
        bestLoad = load;
      }
    }
    this.#turn = (best + 1) % n;
    return this.#slot(best);
  }

  /** The thread in slot `i`, started now if the slot has none. */
  #slot(i: number): CryptoThread {
    let thread = this.#slots[i];
    if (thread === undefined) {
      thread = new CryptoThread(i, this, this.#maxBatchBytes);
      this.#slots[i] = thread;
    }
    return thread;
  }

  /** @internal a thread died: the next channel pinned to its slot starts a new one. */
  forget(thread: CryptoThread): void {
    if (this.#slots[thread.index] === thread) this.#slots[thread.index] = undefined;
  }

  /** Posts every pending batch now instead of at the end of the turn. */
  flush(): void {
    for (const thread of this.#slots) thread?.flush();
  }

  /**
   * Closes the channels pinned to the threads (so their CLOSE messages are still sealed and
   * sent), waits for the batches in flight (at most 2 s), then terminates the threads.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    const threads = this.#slots.filter((t): t is CryptoThread => t !== undefined);
    for (const thread of threads) {
      for (const cipher of thread.ciphers()) {
        try {
          cipher.stopping();
        } catch (error) {
          this.log?.warn("closing a channel on stop failed", error);
        }
      }
      thread.flush();
    }
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(threads.map((t) => t.idle())),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, DRAIN_TIMEOUT_MS);
        timer.unref();
      }),
    ]);
    clearTimeout(timer);
    await Promise.all(threads.map((t) => t.terminate()));
    this.#slots.length = 0;
  }
}

/**
 * Starts the crypto threads a channel end with these settings will use on `node`, before its
 * handshake's clock runs (see CryptoThreads.start); nothing for an inline cipher. `signal`
 * aborts the wait (the threads go on starting, for the next channel).
 */
export async function startCryptoThreadsFor(
  node: Node,
  settings: { readonly cryptoThreads: CryptoThreadsSetting; readonly provider: CryptoProvider; readonly signal?: AbortSignal | undefined },
): Promise<void> {
  const threads = cryptoThreadsOn(node, settings);
  if (threads === 0) return;
  const starting = CryptoThreads.forNode(node, threads).start(threads);
  if (settings.signal === undefined) return starting;
  // The wait may settle first (an abort, even before it looks at `starting`) and leave the
  // start unwatched; its failure (the node stopped meanwhile) concerns no channel then.
  starting.catch(() => undefined);
  await waitFor<void>((resolve, reject) => void starting.then(resolve, reject), { what: "starting the crypto threads", signal: settings.signal });
}

function encodeKeys(keys: ChannelKeys, options: ChannelCipherOptions): Uint8Array {
  const provider = PROVIDER_CODES.indexOf(options.provider.name);
  const cipher = CIPHER_CODES.indexOf(options.cipher ?? "AESGCM");
  if (provider < 0) throw new CryptoThreadError(`Crypto threads cannot host the provider ${JSON.stringify(options.provider.name)}`);
  if (keys.sendKey.length !== KEY_LENGTH || keys.receiveKey.length !== KEY_LENGTH) throw new InvalidKeyError("transport keys must be 32 bytes");
  const body = new Uint8Array(KEYS_BODY_LENGTH);
  body[0] = provider;
  body[1] = cipher;
  new DataView(body.buffer).setFloat64(2, options.rekeyInterval, true);
  body.set(keys.sendKey, 10);
  body.set(keys.receiveKey, 42);
  return body;
}
