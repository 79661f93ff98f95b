/** A promise with its resolve and reject, for a settlement that comes from an event, not a callback. */
export interface Deferred<T> {
  /** Settles with the first call of `resolve` or `reject`. */
  readonly promise: Promise<T>;
  /** Fulfils `promise` (later calls do nothing). */
  readonly resolve: (value: T) => void;
  /** Rejects `promise` (later calls do nothing). */
  readonly reject: (error: unknown) => void;
}

/** A fresh Deferred (Promise.withResolvers is Node 22's). */
export function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
