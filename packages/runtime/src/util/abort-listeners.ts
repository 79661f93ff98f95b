// One "abort" listener per AbortSignal for all of Hopwire's waits on it. Node warns
// (MaxListenersExceededWarning, "possible EventTarget memory leak") past 10 listeners on one
// signal, and one signal for a batch of sends is the natural way to cancel them together.

const waitersBySignal = new WeakMap<AbortSignal, Set<() => void>>();

/** Calls `callback` once when `signal` aborts; returns a function that stops waiting. */
export function onAbort(signal: AbortSignal, callback: () => void): () => void {
  let waiters = waitersBySignal.get(signal);
  if (waiters === undefined) {
    const fresh = new Set<() => void>();
    waitersBySignal.set(signal, (waiters = fresh));
    signal.addEventListener(
      "abort",
      () => {
        waitersBySignal.delete(signal);
        for (const waiter of fresh) waiter();
      },
      { once: true },
    );
  }
  const mine = waiters;
  mine.add(callback);
  return () => void mine.delete(callback);
}
