// backpressure/slow-consumer's shape, apart so that the harness, the Hopwire roles and the
// plain TCP roles share it without loading one another.

/** The consumer handles one message per SLOW_MS: 100 msg/s, far below what any path carries. */
export const SLOW_MS = 10;
/** Payload bytes per message (the case: 1 KiB). */
export const SLOW_SIZE = 1024;
/** Samples per second of RSS and counters, per process. */
export const SAMPLE_MS = 100;
