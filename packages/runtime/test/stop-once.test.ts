// StopOnce: the stop of something a node owns (transports, listeners, inlets, outlets use it).
import { describe, expect, it } from "vitest";
import { StopOnce } from "@hopwire/runtime";

/** A host with the node's stop hook: it runs its hooks on `stopNode()`, and counts those not removed. */
function hookHost(): { onStop(hook: () => Promise<void> | void): () => void; hooks: Set<() => Promise<void> | void>; stopNode(): Promise<unknown> } {
  const hooks = new Set<() => Promise<void> | void>();
  return {
    hooks,
    onStop(hook) {
      hooks.add(hook);
      return () => void hooks.delete(hook);
    },
    stopNode: () => Promise.all([...hooks].map((hook) => hook())),
  };
}

describe("StopOnce", () => {
  it("reads as started already in the stop's synchronous start, and runs it once for every caller", async () => {
    let runs = 0;
    let startedInside: boolean | undefined;
    const once: StopOnce = new StopOnce(async () => {
      runs++;
      startedInside = once.started;
      await Promise.resolve();
    });
    expect(once.started).toBe(false);
    const first = once.stop();
    expect(startedInside).toBe(true);
    expect(once.stop()).toBe(first);
    await first;
    expect(runs).toBe(1);
  });

  it("hooked to a node: the node's stop runs it, and the hook goes only once the stop has ended", async () => {
    const host = hookHost();
    let finish!: () => void;
    const once = new StopOnce(() => new Promise<void>((resolve) => (finish = resolve)));
    once.hookTo(host);
    expect(host.hooks.size).toBe(1);
    const nodeStop = host.stopNode();
    expect(once.started).toBe(true);
    expect(host.hooks.size).toBe(1);
    finish();
    await nodeStop;
    expect(host.hooks.size).toBe(0);
  });

  it("a stop that fails rejects every caller with its error, and still removes the hook", async () => {
    const host = hookHost();
    const once = new StopOnce(async () => {
      throw new Error("boom");
    });
    once.hookTo(host);
    await expect(once.stop()).rejects.toThrow("boom");
    await expect(once.stop()).rejects.toThrow("boom");
    expect(host.hooks.size).toBe(0);
  });
});
