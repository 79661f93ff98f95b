import type { Logger } from "@hopwire/runtime";
import type { PortalError } from "../errors.js";

/**
 * Called as each stream of an inlet or outlet ends: undefined after a clean close both ways,
 * else the reason, always a PortalError subclass (branch on `reason?.code` or the class;
 * a Node socket or dial error is its `cause`).
 */
export type StreamClosedListener = (reason: PortalError | undefined) => void;

/** The listeners of `onStreamClosed` (or of another event, `what`); one that throws is logged and the others still run. */
export class StreamListeners {
  readonly #listeners = new Set<StreamClosedListener>();

  constructor(readonly what = "onStreamClosed") {}

  add(listener: StreamClosedListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  notify(reason: PortalError | undefined, log: Logger): void {
    for (const listener of this.#listeners) {
      try {
        listener(reason);
      } catch (error) {
        log.warn(`an ${this.what} listener threw`, error);
      }
    }
  }
}
