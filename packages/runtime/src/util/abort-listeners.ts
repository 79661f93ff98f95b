// One "abort" listener per AbortSignal for all of Hopwire's waits on it. Node warns
// (MaxListenersExceededWarning, "possible EventTarget memory leak") past 10 listeners on one
// signal, and one signal for a batch of sends is the natural way to cancel them together.
// The listener goes with the last wait, so a long-lived signal keeps none of ours.

interface Waiters {
  readonly callbacks: Set<() => void>;
  readonly dispatch: () => void;
}

const waitersBySignal = new WeakMap<AbortSignal, Waiters>();

/** Calls `callback` once when `signal` aborts; returns a function that stops waiting. */
export function onAbort(signal: AbortSignal, callback: () => void): () => void {
  let waiters = waitersBySignal.get(signal);
  if (waiters === undefined) {
    const callbacks = new Set<() => void>();
    const dispatch = (): void => {
      waitersBySignal.delete(signal);
      // One that throws must not leave the others waiting: each had a listener of its own before.
      let failure: unknown;
      let failed = false;
      for (const waiting of callbacks) {
        try {
          waiting();
        } catch (error) {
          if (!failed) (failed = true), (failure = error);
        }
      }
      if (failed) throw failure;
    };
    waitersBySignal.set(signal, (waiters = { callbacks, dispatch }));
    signal.addEventListener("abort", dispatch, { once: true });
  }
  const mine = waiters;
  mine.callbacks.add(callback);
  return () => {
    if (!mine.callbacks.delete(callback) || mine.callbacks.size > 0) return;
    if (waitersBySignal.get(signal) === mine) waitersBySignal.delete(signal);
    signal.removeEventListener("abort", mine.dispatch);
  };
}
