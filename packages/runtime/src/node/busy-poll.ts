import { performance } from "node:perf_hooks";

/** The longest NodeOptions.busyPollMicros: a loop kept awake longer than 10 ms is a spinning process. */
export const MAX_BUSY_POLL_MICROS = 10_000;

/**
 * When this thread's event loop may go back to sleeping (performance.now() ms), and whether a
 * turn is scheduled that keeps it awake until then. One per thread, as the loop is: every
 * node of a thread extends the same deadline.
 */
let awakeUntil = 0;
let polling = false;

/**
 * Busy polling of the event loop (NodeOptions.busyPollMicros). After a node hands work on
 * (a transport wrote to its socket, a batch went to a worker thread or pool slot), an answer
 * usually follows within tens of microseconds. A loop that sleeps meanwhile is woken for it,
 * and on this project's VMs a wake-up costs 10-30 µs of latency (docs/architecture.md,
 * "Busy polling"). So for `micros` after each hand-off the loop keeps turning: a pending
 * immediate makes libuv poll for I/O with a zero timeout instead of blocking. What arrives
 * is handled in the very next turn. The cost is CPU: the thread runs until that long after
 * the last hand-off, whether or not an answer came sooner.
 */
export class BusyPoll {
  /** `afterHandOff` is undefined when busy polling is off, so callers skip even the call. */
  readonly afterHandOff: (() => void) | undefined;
  #stopped = false;

  constructor(readonly micros: number) {
    // A transport or portal the application left running after node.stop() keeps the hook: it then does nothing.
    this.afterHandOff = micros > 0 ? () => void (this.#stopped || keepPolling(micros)) : undefined;
  }

  /** The node stopped: hand-offs no longer keep the loop polling. */
  stop(): void {
    this.#stopped = true;
  }
}

/** Keeps this thread's event loop polling, not sleeping, for at least `micros` from now. */
export function keepPolling(micros: number): void {
  const until = performance.now() + micros / 1000;
  if (until > awakeUntil) awakeUntil = until;
  if (polling) return;
  polling = true;
  setImmediate(pollTurn);
}

/** One turn of a busy-polling loop: another one is queued until the deadline passes. */
function pollTurn(): void {
  if (performance.now() < awakeUntil) setImmediate(pollTurn);
  else polling = false;
}

/** Whether this thread's loop is being kept awake now (Node.busyPolling). */
export function isBusyPolling(): boolean {
  return polling;
}
