import { deferred } from "../util/deferred.js";

/** What StopOnce hooks itself to: a node (`Node.onStop`), or anything with the same hook. */
export interface StopHookHost {
  /** Runs `hook` when the node stops; returns its remover. */
  onStop(hook: () => Promise<void> | void): () => void;
}

/**
 * The stop of something a node owns (a transport, a listener, an inlet): it runs once, every
 * call gets the same promise, and it reads as started from the first call on, already while
 * the stop's own synchronous start runs (what it closes there calls back, and must see it
 * stopping). Hooked to a node (`hookTo`), the node's stop runs it too; the hook is removed only
 * once the stop ends, since until then a node.stop() runs the hook, which waits for this very stop.
 */
export class StopOnce {
  readonly #run: () => Promise<void>;
  #stopping: Promise<void> | undefined;
  #removeHook: (() => void) | undefined;

  constructor(run: () => Promise<void>) {
    this.#run = run;
  }

  /** True from the first `stop()` on. */
  get started(): boolean {
    return this.#stopping !== undefined;
  }

  /** The node's stop runs this stop too; this stop, once it ends, removes that hook (the node would otherwise hold the owner until it stops). */
  hookTo(node: StopHookHost): void {
    this.#removeHook = node.onStop(() => this.stop());
  }

  /** Runs the stop, once; resolves (or rejects) as it ends. */
  stop(): Promise<void> {
    if (this.#stopping === undefined) {
      // Set before the stop starts: its synchronous part already reads `started`.
      const stopping = deferred<void>();
      this.#stopping = stopping.promise;
      this.#execute().then(stopping.resolve, stopping.reject);
    }
    return this.#stopping;
  }

  async #execute(): Promise<void> {
    try {
      await this.#run();
    } finally {
      this.#removeHook?.();
      this.#removeHook = undefined;
    }
  }
}
