/**
 * When AEADs make their spare ciphers: after the turn of the event loop that asked, and
 * for how long an unused one is kept.
 *
 * node:crypto cannot give a GCM context a new nonce, so every record costs a fresh cipher:
 * `createCipheriv` (key schedule, GHASH key) is about half of a small record's seal. The
 * nonce of a channel direction's next record is known in advance, so its cipher can be made
 * while the thread waits (for the peer's answer, for a worker's reply) instead of while the
 * record waits: after a turn that sealed a record, once the record is written, before the
 * thread sleeps waiting for the answer. Not after a turn that only opened one: a worker on
 * another thread may answer while the spare is made, and its answer would wait (the seed's
 * responder: 9 µs a round trip, traced); the next open's spare is made with the next seal's.
 *
 * A thread with the runtime's end-of-turn pass (a node's main thread: the channel end
 * installs it) makes them right after that pass and its microtasks (runtime's
 * `afterTurnEnd`); elsewhere (a crypto thread, the codec alone) two immediates away, the
 * second queued while immediates run and so run the turn after.
 *
 * A spare left unused is dropped by a sweep within two seconds, so idle channels hold none
 * (its native context is ≈ 1 KiB); so is a request no seal came to make.
 */

/** An AEAD that keeps spares: `makeSpares` makes what it was asked for, `sweep` drops what went unused. */
export interface SpareHolder {
  makeSpares(sweeps: number): void;
  /** Drops spares made before sweep `before` (and, with `requests`, what it was asked for and has not made); true if it holds none afterwards. */
  sweep(before: number, requests: boolean): boolean;
}

const SWEEP_MS = 1_000;
/**
 * At most this many AEADs of a thread keep spares or wait for them. Many channels sending in
 * turn (1,000 of them, a record each per turn) would keep one per channel for many turns
 * before using it: memory, and objects old enough to burden the garbage collector, measured
 * 15-20 % more CPU per message there (`channel-cpu.js --channels 1000`). Past the bound,
 * records go as before.
 */
const MAX_HOLDERS = 32;

/** Spare ciphers made, used by the seal or open they were made for, and dropped unused by a sweep (tests and probes read them). */
export const spareCiphers = { made: 0, used: 0, swept: 0 };

/**
 * One spare of an AEAD (its sealer, or its opener): the nonce asked for (-1: none), and the
 * cipher made for it ahead of time, with that nonce and the sweep it was made in.
 */
export class SpareSlot<C> {
  wanted = -1;
  #cipher: C | undefined;
  #nonce = -1;
  #sweep = 0;

  /** The spare made for `nonce`, used up; undefined if there is none. `dropOther`: one made for another nonce goes too (a sealer's: nonces only grow). */
  take(nonce: number | bigint, dropOther: boolean): C | undefined {
    const cipher = this.#cipher;
    if (cipher === undefined) return undefined;
    if (nonce !== this.#nonce) {
      if (dropOther) this.#cipher = undefined;
      return undefined;
    }
    this.#cipher = undefined;
    spareCiphers.used++;
    return cipher;
  }

  /** Makes what was asked for with `create`, unless it is there already. */
  make(sweeps: number, create: (nonce: number) => C): void {
    const wanted = this.wanted;
    this.wanted = -1;
    if (wanted < 0 || (this.#cipher !== undefined && this.#nonce === wanted)) return;
    this.#cipher = create(wanted);
    this.#nonce = wanted;
    this.#sweep = sweeps;
    spareCiphers.made++;
  }

  /** Drops a spare made before sweep `before` (and, with `requests`, what was asked for); true if it holds none afterwards. */
  sweep(before: number, requests: boolean): boolean {
    if (requests) this.wanted = -1;
    if (this.#cipher !== undefined && this.#sweep < before) {
      this.#cipher = undefined;
      spareCiphers.swept++;
    }
    return this.#cipher === undefined;
  }
}

/** The AEADs admitted (at most MAX_HOLDERS): holding spares, or asking for them. */
const holders = new Set<SpareHolder>();
/** Those of them with spares to make at the next run. */
const toMake = new Set<SpareHolder>();
/** Those that were waiting at the last sweep: still waiting at this one, their requests are dropped. */
let waitingAtLastSweep: SpareHolder[] = [];
let scheduled = false;
let sweeps = 0;
let sweeper: NodeJS.Timeout | undefined;

/** Without an end-of-turn pass: an immediate, whose own immediate runs the turn after (see the header). */
let schedule: (run: () => void) => void = (run) => setImmediate(() => setImmediate(run));

/** Has this thread's spares made by `afterTurn` (runtime's afterTurnEnd) instead of two immediates away. */
export function scheduleSparesWith(afterTurn: (run: () => void) => void): void {
  schedule = afterTurn;
}

/**
 * Has `holder.makeSpares` called after this turn of the event loop (once, however often
 * asked), or, with `now` false, after the next turn that asks with `now` true; false if it was
 * refused (MAX_HOLDERS others are admitted: it keeps no spares). A seal refused so still has
 * the waiting ones made (opens waiting for good would hold the bound).
 */
export function makeSparesAfterTurn(holder: SpareHolder, now: boolean): boolean {
  const admitted = holders.has(holder) || holders.size < MAX_HOLDERS;
  if (admitted) {
    holders.add(holder);
    toMake.add(holder);
    if (sweeper === undefined) {
      sweeper = setInterval(sweep, SWEEP_MS);
      sweeper.unref();
    }
  }
  if (now && !scheduled && toMake.size > 0) {
    scheduled = true;
    schedule(makeAll);
  }
  return admitted;
}

/** Forgets `holder` (disposed): nothing of it is made or swept any more. */
export function forgetSpareHolder(holder: SpareHolder): void {
  toMake.delete(holder);
  holders.delete(holder);
}

function makeAll(): void {
  scheduled = false;
  for (const holder of toMake) holder.makeSpares(sweeps);
  toMake.clear();
}

function sweep(): void {
  sweeps++;
  // Asked for at the last sweep and never made (no seal on this thread since): dropped.
  for (const holder of waitingAtLastSweep) {
    if (!toMake.delete(holder)) continue;
    if (holder.sweep(sweeps - 1, true)) holders.delete(holder);
  }
  waitingAtLastSweep = [...toMake];
  // A spare made since the previous sweep stays until the next: it is at least one interval old when dropped.
  for (const holder of holders) if (!toMake.has(holder) && holder.sweep(sweeps - 1, false)) holders.delete(holder);
  if (holders.size === 0 && sweeper !== undefined) {
    clearInterval(sweeper);
    sweeper = undefined;
  }
}

/** How many AEADs hold or wait for spares (tests). */
export function spareHolders(): number {
  return holders.size;
}
