// The warm-up of a one-way throughput window counted in payload bytes (as messages of the
// window's size), on top of its time: the rule every receiver that measures such a window
// (Hopwire's sink, the raw framed sink behind baseline/tcp-framed, -proxy and -tls) applies
// the same way.
//
// Why: V8 optimises by calls, not by time, and compiles on background threads. On a loaded
// host the relay's middle node spent 11-12 µs of its main thread and 10 µs of compiler
// threads per 1 KiB message ~1 s after its first message, against 3.1-3.7 µs and 0.3 µs
// after 4 s (probe/relay-cpu; --series shows the ramp over the first ~150 k messages); the
// bench's window (0.3 s, opening 1 s after the sink's first message) caught that phase,
// while a plain TCP proxy, almost no JavaScript, had none. On a quiet host the probe,
// measuring from ~1.2 s to 2.7 s after the first message (~500 k messages in at 1 KiB),
// saw ~430 k msg/s where the bench saw 235 k: the count covers that much.
//
// Counted in bytes, the same for every size: the code that runs per record, batch or ~64 KiB
// turn needs as many calls at 64 B as at 1 KiB before V8 has optimised it, and a 64 B stream
// makes one such call per ~500 messages. A count of 500 k messages (the rule until session
// 50) let a 64 B secure channel's window open ~1 s in, mid-ramp: probe/channel-cpu read 2.1-2.2
// M msg/s after 50 k messages and 4.0-5.7 M after 8 M, node:tls 4.5-5.1 M and 5.1-6.3 M; the
// bench's window after 1 s, 0.29 and 0.39× node:tls, after 4 s 0.81 and 0.74×.

/** Payload bytes that must have arrived before the window opens (1 KiB: 524 288 messages; 64 B: 8.4 M; 16 KiB: 32 768). */
export const WARM_BYTES = 512 * 2 ** 20;
/**
 * The longest the count may hold the window back after the first message, at least: a slow
 * path (e.g. the noble provider at 16 KiB) must still finish within its repetition's timeout.
 */
export const WARM_COUNT_CAP_MS = 4_000;
/** The cap as a multiple of the warm-up time, where that is longer (a full run's 1 s: 4 s; check/warm-*'s 2 s: 8 s). */
export const WARM_COUNT_CAP_FACTOR = 4;

/** How long after the first message the warm count may hold a window back, for a warm-up of `warmupMs`. */
export const warmCapMs = (warmupMs: number): number => Math.max(WARM_COUNT_CAP_MS, WARM_COUNT_CAP_FACTOR * warmupMs);

/** The warm count for a payload size. */
export const warmMessagesFor = (size: number): number => Math.ceil(WARM_BYTES / Math.max(1, size));

/** Whether a window may open: its warm-up time has passed and its warm count arrived (or the cap passed). */
export function warmedUp(now: number, firstAt: number, warmupMs: number, count: number, warmMessages: number): boolean {
  return now >= firstAt + warmupMs && (count >= warmMessages || now >= firstAt + warmCapMs(warmupMs));
}

/** What a scenario's description says of the warm count. */
export const warmCountNote = ` In a full run the window also waits for ${WARM_BYTES / 2 ** 20} MiB of payload to have arrived (at most ${WARM_COUNT_CAP_MS / 1e3} s after the first), on both sides of the ratio.`;
