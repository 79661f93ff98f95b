/**
 * One end-of-turn pass per thread, for everything that holds the work of a turn to do it
 * once at its end: a secure channel sealing its queued messages into one record, a
 * connection writing its frames with one system call, a thread link posting one batch.
 *
 * Each used to queue a setImmediate of its own. An immediate queued while immediates run
 * waits for the next turn of the event loop, so a channel sealing at the end of a turn
 * handed its record to a connection whose write then waited a whole turn: one more
 * `epoll_wait` and loop pass per message on each side of a round trip (strace, the seed's
 * echo). Here a callback queued during the pass runs in the same pass, after the ones
 * queued before it, so the connection writes what the channels sealed in that same turn.
 *
 * Microtasks queued by a callback run after the pass, not between its callbacks.
 */

/** Past this many callbacks in one pass, the rest wait for the next turn (a callback that keeps queueing more must not starve I/O). */
const MAX_CALLBACKS_PER_PASS = 10_000;

/** Callbacks queued for the pass, in [0, queued); run ones are cleared, and the array keeps its room (no allocation per turn). */
const queue: ((() => void) | undefined)[] = [];
let queued = 0;
let scheduled = false;

/** Callbacks for after the pass (afterTurnEnd); swapped with `running` while they run, so neither is allocated per turn. */
let after: (() => void)[] = [];
let running: (() => void)[] = [];

/** Runs `callback` at the end of this turn of the event loop (in the check phase), once per call. */
export function atTurnEnd(callback: () => void): void {
  queue[queued++] = callback;
  if (scheduled) return;
  scheduled = true;
  setImmediate(runPass);
}

/**
 * Runs `callback` once this turn's pass has run and the microtasks its callbacks queued have
 * (a connection's write among them; not those these microtasks queue in turn): for work that
 * should not delay what the turn hands on, and need not wait for another turn of the event
 * loop (an immediate queued from the pass would: one more `epoll_wait` and loop pass). Called
 * when no pass is queued (from a microtask after the pass, say), it starts one: the next
 * turn's. Once per call.
 */
export function afterTurnEnd(callback: () => void): void {
  after.push(callback);
  if (scheduled) return;
  scheduled = true;
  setImmediate(runPass);
}

/** Runs what afterTurnEnd queued, as a microtask queued by the pass's end: after the pass's own microtasks. */
function runAfter(): void {
  const callbacks = after;
  after = running;
  running = callbacks;
  let ran = 0;
  try {
    while (ran < callbacks.length) callbacks[ran++]!();
  } finally {
    // After a throw too: what is left runs with what comes next, and the error goes on.
    // Not unshift(...rest): spread as arguments, a long rest may exceed the stack before `callbacks` is cleared (a review's concern).
    if (ran < callbacks.length) after = callbacks.slice(ran).concat(after);
    callbacks.length = 0;
    if (after.length > 0 && !scheduled) {
      scheduled = true;
      setImmediate(runPass);
    }
  }
}

function runPass(): void {
  let ran = 0;
  try {
    while (ran < queued && ran < MAX_CALLBACKS_PER_PASS) {
      const callback = queue[ran]!;
      queue[ran] = undefined;
      ran++;
      callback();
    }
  } finally {
    // After a throw too: what is left runs next turn, and the error goes on as an immediate's would.
    const left = queued - ran;
    for (let i = 0; i < left; i++) {
      queue[i] = queue[ran + i];
      queue[ran + i] = undefined;
    }
    queued = left;
    scheduled = left > 0;
    if (scheduled) setImmediate(runPass);
    else if (after.length > 0) queueMicrotask(runAfter);
  }
}
