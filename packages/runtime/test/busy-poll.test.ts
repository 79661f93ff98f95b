import { MessageChannel } from "node:worker_threads";
import { performance } from "node:perf_hooks";
import { afterEach, describe, expect, it } from "vitest";
import { eventually, nextTurn } from "../../../test/support/eventually.js";
import { node, type Node } from "@hopwire/runtime";
import { BusyPoll, isBusyPolling, keepPolling, MAX_BUSY_POLL_MICROS } from "../dist/node/busy-poll.js";
import { PortWriter } from "../dist/placement/frames.js";
import { invalidOption, nodeError } from "./helpers.js";
import { Silent } from "./fixtures/workers.js";

describe("busy polling: the loop keeps turning for a while after a hand-off", () => {
  it("keepPolling keeps an immediate queued (so libuv polls without blocking) until the deadline, then lets the loop sleep", async () => {
    await eventually(() => !isBusyPolling());
    const started = performance.now();
    keepPolling(2_000);
    expect(isBusyPolling()).toBe(true);
    expect(process.getActiveResourcesInfo()).toContain("Immediate");
    // It goes on polling until its deadline, not one turn: immediates keep running back to back.
    while (isBusyPolling()) await nextTurn();
    expect(performance.now() - started).toBeGreaterThanOrEqual(2);
    await nextTurn();
    expect(isBusyPolling()).toBe(false);
  });

  it("a hand-off extends the thread's one deadline, whichever order: one poll, ended by the later deadline", async () => {
    const immediates = (): number => process.getActiveResourcesInfo().filter((r) => r === "Immediate").length;
    for (const [first, second] of [
      [1_000, MAX_BUSY_POLL_MICROS],
      [MAX_BUSY_POLL_MICROS, 1_000],
    ]) {
      await eventually(() => !isBusyPolling());
      const before = immediates();
      const startedAt = performance.now();
      keepPolling(first!);
      keepPolling(second!);
      expect(immediates() - before).toBe(1); // one chain of immediates, not two
      await eventually(() => !isBusyPolling());
      // Ended by the 10 ms deadline, not the 1 ms one.
      expect(performance.now() - startedAt).toBeGreaterThanOrEqual(MAX_BUSY_POLL_MICROS / 1000);
    }
  });

  it("a stopped node's hook does nothing", async () => {
    const poll = new BusyPoll(MAX_BUSY_POLL_MICROS);
    poll.stop();
    await eventually(() => !isBusyPolling());
    poll.afterHandOff!();
    expect(isBusyPolling()).toBe(false);
  });

  it("is off by default: no hand-off callback at all", () => {
    expect(new BusyPoll(0).afterHandOff).toBeUndefined();
    expect(typeof new BusyPoll(150).afterHandOff).toBe("function");
  });

  it("PortWriter calls its onPosted once per batch with frames, not for one that only returns credit", async () => {
    const { port1, port2 } = new MessageChannel();
    let posted = 0;
    const writer = new PortWriter(port1, () => posted++);
    const got: unknown[] = [];
    port2.on("message", (m) => got.push(m));
    writer.push(3, new Uint8Array([1, 2, 3]));
    writer.push(3, new Uint8Array([4]));
    writer.flush();
    expect(posted).toBe(1);
    writer.push(3, new Uint8Array([5]));
    writer.flush();
    expect(posted).toBe(2);
    writer.addCredit(10, 1000, "now"); // a batch of credit alone: no answer to wait for
    expect(posted).toBe(2);
    await eventually(() => got.length === 3);
    port1.close();
  });
});

describe("NodeOptions.busyPollMicros", () => {
  const nodes: Node[] = [];
  afterEach(async () => {
    await Promise.all(nodes.splice(0).map((n) => n.stop()));
  });

  it("takes an integer from 0 to 10 000 and refuses anything else with a typed error", async () => {
    for (const bad of [-1, 1.5, 10_001, "150", Number.NaN]) {
      expect(await nodeError({ busyPollMicros: bad })).toEqual(invalidOption("busyPollMicros", /^busyPollMicros must be an integer from 0 to 10000, got /));
    }
    expect(await nodeError({ busyPollMicros: 0 })).toBe("accepted");
    expect(await nodeError({ busyPollMicros: 10_000 })).toBe("accepted");
  });

  it("gives transports a hand-off callback only when it is on, and says what it resolved", async () => {
    const off = await node({ warnings: false });
    const on = await node({ warnings: false, busyPollMicros: 150 });
    nodes.push(off, on);
    expect(off.afterHandOff).toBeUndefined();
    expect(typeof on.afterHandOff).toBe("function");
    expect([off.busyPollMicros, on.busyPollMicros]).toEqual([0, 150]);
  });

  /**
   * Whether `n`'s loop was polling once a send to `to` was handed to its worker's thread or
   * slot (the port writer posts in the check phase of the send's turn: two turns later it
   * has). With busy polling on, retried until the check comes within the poll's 10 ms of the
   * send (a stalled, loaded host may take longer, and then the check tells nothing); undefined
   * if none did. With it off, the first check counts.
   */
  async function pollingAfterSend(n: Node, to: string): Promise<boolean | undefined> {
    for (let attempt = 0; attempt < 50; attempt++) {
      await eventually(() => !n.busyPolling);
      const sentAt = performance.now();
      await n.send(to, new Uint8Array(8));
      await nextTurn();
      await nextTurn();
      // A node that does not busy-poll must not poll however late the check comes.
      if (n.busyPollMicros === 0 || performance.now() - sentAt < MAX_BUSY_POLL_MICROS / 1000) return n.busyPolling;
    }
    return undefined;
  }

  it("keeps the main thread polling after a batch goes to a worker thread or a pool slot, and not without it", async () => {
    const polling = await node({ warnings: false, busyPollMicros: MAX_BUSY_POLL_MICROS, pool: { minThreads: 1, maxThreads: 1 } });
    const quiet = await node({ warnings: false });
    nodes.push(polling, quiet);
    await polling.startWorker("on-thread", Silent, { placement: "thread" });
    await polling.startWorker("in-pool", Silent, { placement: "pool" });
    await quiet.startWorker("on-thread", Silent, { placement: "thread" });
    expect(await pollingAfterSend(polling, "on-thread")).toBe(true);
    expect(await pollingAfterSend(polling, "in-pool")).toBe(true);
    await polling.stop();
    // Alone in the thread now (the poll is the thread's, whichever node asked for it).
    expect(await pollingAfterSend(quiet, "on-thread")).toBe(false);
  });
});
