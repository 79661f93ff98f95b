// The warm-up of a one-way throughput window counted in messages, on top of its time: the
// rule every receiver that measures such a window (Hopwire's sink, the raw framed sink
// behind baseline/tcp-framed, -proxy and -tls) applies the same way.
//
// Why: V8 optimises by calls, not by time, and compiles on background threads. On a loaded
// host the relay's middle node spent 11-12 µs of its main thread and 10 µs of compiler
// threads per 1 KiB message ~1 s after its first message, against 3.1-3.7 µs and 0.3 µs
// after 4 s (probe/relay-cpu; --series shows the ramp over the first ~150 k messages); the
// bench's window (0.3 s, opening 1 s after the sink's first message) caught that phase,
// while a plain TCP proxy, almost no JavaScript, had none. On a quiet host the probe,
// measuring from ~1.2 s to 2.7 s after the first message (~500 k messages in at 1 KiB),
// saw ~430 k msg/s where the bench saw 235 k: the count covers that much.

/** Messages that must have arrived before the window opens (at most WARM_BYTES of payload). */
export const WARM_MESSAGES = 500_000;
/** The payload bytes that cap WARM_MESSAGES for large messages (1 KiB: 500 000 messages; 16 KiB: 32 768). */
export const WARM_BYTES = 512 * 2 ** 20;
/**
 * The longest the count may hold the window back after the first message: a slow path
 * (e.g. the noble provider at 16 KiB) must still finish within its repetition's timeout.
 */
export const WARM_COUNT_CAP_MS = 4_000;

/** The warm count for a payload size. */
export const warmMessagesFor = (size: number): number => Math.min(WARM_MESSAGES, Math.ceil(WARM_BYTES / Math.max(1, size)));

/** Whether a window may open: its warm-up time has passed and its warm count arrived (or the cap passed). */
export function warmedUp(now: number, firstAt: number, warmupMs: number, count: number, warmMessages: number): boolean {
  return now >= firstAt + warmupMs && (count >= warmMessages || now >= firstAt + Math.max(warmupMs, WARM_COUNT_CAP_MS));
}

/** What a scenario's description says of the warm count. */
export const warmCountNote = ` In a full run the window also waits for min(${WARM_MESSAGES / 1e3} k messages, ${WARM_BYTES / 2 ** 20} MiB) to have arrived (at most ${WARM_COUNT_CAP_MS / 1e3} s), on both sides of the ratio.`;
