import type { Logger } from "@hopwire/runtime";

/** Called as each stream of an inlet or outlet ends: undefined after a clean close both ways, else the reason. */
export type StreamClosedListener = (reason: Error | undefined) => void;

/** The listeners of `onStreamClosed`; one that throws is logged and the others still run. */
export class StreamListeners {
  readonly #listeners = new Set<StreamClosedListener>();

  add(listener: StreamClosedListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  notify(reason: Error | undefined, log: Logger): void {
    for (const listener of this.#listeners) {
      try {
        listener(reason);
      } catch (error) {
        log.warn("an onStreamClosed listener threw", error);
      }
    }
  }
}
