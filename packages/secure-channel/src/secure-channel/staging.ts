/**
 * Staging memory for the bytes bodies that senders lend to channels (EncryptorQueue.pushLentBytes):
 * one per thread, shared by every channel of it. Bodies are carved one after another from 64 KiB
 * chunks, as the runtime's body slab does, but a chunk is written over again once every body in
 * it has been sealed (each queue releases the bodies it takes), where a slab is dropped to the
 * GC and the next one is a fresh buffer whose pages fault in (docs/architecture.md, "A bytes
 * body is copied once"). Shared, so that a thousand channels with a message each fill one
 * chunk, not a thousand.
 */

/** Size of a chunk; a body larger than this gets a buffer of its own. */
export const STAGING_CHUNK_BYTES = 64 * 1024;

/** Free chunks kept for reuse, per thread: 4 MiB, a channel's default send queue. */
const MAX_FREE_CHUNKS = 64;

/**
 * Chunks holding queued bodies, per thread, at most: 4 MiB. Past it a body gets a buffer of its
 * own (stage returns undefined), so that channels whose bodies wait long (a peer that grants no
 * credit) pin at most this much, however many they are and however their bodies are spread.
 */
const MAX_LIVE_CHUNKS = 64;

/** Free chunks go once no body has been staged for this long (ms): a busy spell's memory is not kept for good. */
const FREE_CHUNKS_KEPT_MS = 10_000;

/** A chunk and how many of the bodies carved from it are still queued. */
export class StagingChunk {
  live = 0;
  constructor(readonly buffer: Buffer) {}
}

let current: StagingChunk | undefined;
let used = 0;
/** Chunks with a queued body in them (the one being filled included). */
let liveChunks = 0;
const free: StagingChunk[] = [];
/** When a chunk was last taken (performance.now()), and the timer that drops the free ones once that is old. */
let lastTaken = 0;
let dropTimer: NodeJS.Timeout | undefined;

/** Where the last `stage` put its bytes in its chunk's buffer. */
export let stagedAt = 0;

/**
 * Room for `length` bytes (at most STAGING_CHUNK_BYTES) for a body: in the chunk returned, at
 * `stagedAt`; undefined when that would put more than MAX_LIVE_CHUNKS chunks in use. `release`
 * the chunk once the body is sealed.
 */
export function stage(length: number): StagingChunk | undefined {
  let chunk = current;
  if (chunk === undefined || used + length > STAGING_CHUNK_BYTES) {
    if (liveChunks >= MAX_LIVE_CHUNKS) return undefined;
    chunk = current = free.pop() ?? new StagingChunk(Buffer.allocUnsafeSlow(STAGING_CHUNK_BYTES));
    used = 0;
    lastTaken = performance.now();
  }
  if (chunk.live++ === 0) liveChunks++;
  stagedAt = used;
  used += length;
  return chunk;
}

/** A body carved from `chunk` has been sealed (or dropped): nothing reads it any more. */
export function release(chunk: StagingChunk): void {
  if (--chunk.live > 0) return;
  liveChunks--;
  if (chunk === current) used = 0; // written from its start again
  else if (free.length < MAX_FREE_CHUNKS) {
    free.push(chunk);
    dropTimer ??= setTimeout(dropFreeIfQuiet, FREE_CHUNKS_KEPT_MS).unref();
  }
}

function dropFreeIfQuiet(): void {
  dropTimer = undefined;
  const quiet = performance.now() - lastTaken;
  if (quiet >= FREE_CHUNKS_KEPT_MS) free.length = 0;
  else dropTimer = setTimeout(dropFreeIfQuiet, FREE_CHUNKS_KEPT_MS - quiet).unref();
}
