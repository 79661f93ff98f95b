// Counting the Immediates one piece of work makes: those created from the async contexts it is
// told about, and from what those created in turn (by async trigger), not another part of the
// process's (vitest runs test files one after another in one process here).
import { createHook, executionAsyncId } from "node:async_hooks";

export class ImmediatesMadeBy {
  /** Immediates created from the contexts followed, while enabled. */
  count = 0;
  readonly #followed = new Set<number>();
  readonly #hook = createHook({
    init: (id, type, triggerId) => {
      if (!this.#followed.has(triggerId)) return;
      this.#followed.add(id);
      if (type === "Immediate") this.count++;
    },
  });

  /** Follows the async context running now (what it creates, and what that creates, is counted). */
  followCurrent(): void {
    this.#followed.add(executionAsyncId());
  }

  /** Stops following the async context running now (what it creates from here on is not counted). */
  forgetCurrent(): void {
    this.#followed.delete(executionAsyncId());
  }

  enable(): void {
    this.#hook.enable();
  }

  disable(): void {
    this.#hook.disable();
  }
}
