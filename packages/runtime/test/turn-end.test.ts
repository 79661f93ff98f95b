// The end-of-turn pass that channels, connections and thread links share (util/turn-end.ts):
// what a callback queues during the pass runs in that same pass, not a turn later.
import { once } from "node:events";
import { Worker } from "node:worker_threads";
import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { afterTurnEnd, atTurnEnd } from "../dist/util/turn-end.js";

const nextImmediate = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe("atTurnEnd", () => {
  it("runs a callback queued during the pass in the same pass, before the microtasks and ticks queued by the one before", async () => {
    const order: string[] = [];
    atTurnEnd(() => {
      order.push("sealed");
      // As a channel's pump hands its record to a connection, which queues its write.
      atTurnEnd(() => order.push("written"));
      process.nextTick(() => order.push("tick"));
      queueMicrotask(() => order.push("microtask"));
    });
    await nextImmediate();
    // One setImmediate each would run "written" a turn later, after the tick and the microtask.
    expect(order).toEqual(["sealed", "written", "tick", "microtask"]);
  });

  it("runs callbacks in the order they were queued, each once", async () => {
    const order: number[] = [];
    for (let i = 0; i < 5; i++) atTurnEnd(() => order.push(i));
    await nextImmediate();
    await nextImmediate();
    expect(order).toEqual([0, 1, 2, 3, 4]);
  });

  it("leaves the rest for the next turn past 10,000 callbacks in one pass, so a callback that keeps queueing cannot starve the loop", async () => {
    let ran = 0;
    const again = (): void => {
      ran++;
      if (ran < 25_000) atTurnEnd(again);
    };
    atTurnEnd(again);
    // Queued after the pass's own immediate: runs once the first pass has ended. (A few callbacks
    // another test file left in this process's queue may have shared that pass.)
    await nextImmediate();
    expect(ran).toBeLessThanOrEqual(10_000);
    expect(ran).toBeGreaterThan(9_900);
    while (ran < 25_000) await nextImmediate();
    expect(ran).toBe(25_000);
  });

  it("after a callback throws, the error goes on as an immediate's would; the rest run next turn, each once, and later passes still run", async () => {
    // In a thread of its own: the throw is an uncaught exception there, not in this test's process.
    const code = `
      const { parentPort } = require("node:worker_threads");
      import(${JSON.stringify(new URL("../dist/util/turn-end.js", import.meta.url).href)}).then(({ atTurnEnd }) => {
        const log = [];
        process.on("uncaughtException", (error) => log.push("uncaught " + error.message));
        atTurnEnd(() => log.push("a"));
        atTurnEnd(() => {
          log.push("b");
          atTurnEnd(() => log.push("d"));
          throw new Error("boom");
        });
        atTurnEnd(() => log.push("c"));
        setTimeout(() => {
          atTurnEnd(() => log.push("e"));
          setTimeout(() => parentPort.postMessage(log), 20);
        }, 20);
      });`;
    const thread = new Worker(code, { eval: true });
    try {
      const [log] = (await once(thread, "message")) as [string[]];
      expect(log).toEqual(["a", "b", "uncaught boom", "c", "d", "e"]);
    } finally {
      await thread.terminate();
    }
  });
});

describe("afterTurnEnd", () => {
  it("runs after the pass and the microtasks it queued (a connection's write), in the same turn", async () => {
    const order: string[] = [];
    afterTurnEnd(() => order.push("after"));
    atTurnEnd(() => {
      order.push("sealed");
      // As a connection queues its write when the socket is idle.
      queueMicrotask(() => order.push("written"));
      atTurnEnd(() => order.push("posted"));
      // An immediate queued by the pass runs the turn after: afterTurnEnd's callback must come before it.
      setImmediate(() => order.push("next turn"));
    });
    await nextImmediate();
    expect(order).toEqual(["sealed", "posted", "written", "after"]);
    await nextImmediate();
    expect(order).toEqual(["sealed", "posted", "written", "after", "next turn"]);
  });

  it("starts a pass of its own when none is queued, and runs each callback once, in order", async () => {
    const order: number[] = [];
    for (let i = 0; i < 3; i++) afterTurnEnd(() => order.push(i));
    await nextImmediate();
    expect(order).toEqual([0, 1, 2]);
    await nextImmediate();
    expect(order).toEqual([0, 1, 2]);
  });
});

/** Runs `body` in a node process of its own (a main thread: its stack is what a spread of many callbacks hits) and returns what it prints. */
function inProcess(body: string): unknown {
  const code = `
    import(${JSON.stringify(new URL("../dist/util/turn-end.js", import.meta.url).href)}).then(({ afterTurnEnd }) => {
      const log = [];
      process.on("uncaughtException", (error) => log.push(error.constructor.name));
      ${body}
    });`;
  return JSON.parse(execFileSync(process.execPath, ["-e", code], { encoding: "utf8", timeout: 60_000, killSignal: "SIGKILL" }));
}

describe("afterTurnEnd after a throw", () => {
  it("with many callbacks queued, the rest still run once and the thrower runs once", () => {
    const result = inProcess(`
      let thrown = 0, ran = 0;
      afterTurnEnd(() => { thrown++; throw new Error("boom"); });
      for (let i = 0; i < 200000; i++) afterTurnEnd(() => ran++);
      setTimeout(() => { afterTurnEnd(() => {}); setTimeout(() => { console.log(JSON.stringify({ thrown, ran, log })); process.exit(0); }, 100); }, 50);`);
    expect(result).toMatchObject({ thrown: 1, ran: 200000, log: ["Error"] });
  });
});
