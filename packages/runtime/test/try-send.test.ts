// trySend and tryForward: a streaming loop's send with no promise per message. Each sends at
// once where `send` would, and refuses (sending nothing) where `send` would wait: a full first
// hop, an earlier send to that hop still waiting, or, on a worker's own thread, a hop the main
// thread has not routed a send to yet. The tests fill a "gated" main worker that handles
// nothing until opened, and check what was refused, that the refused ones went by `send`, and
// that every message arrived once, in order.
import { describe, expect, it } from "vitest";
import { encodeBody, LocalMessage, NodeStoppedError, node, route, UnknownAddressError, type Context, type Node, type Routed } from "@hopwire/runtime";
import { TryAroundFullHop, TryFullHopNothingWaiting, TrySender } from "./fixtures/workers.js";
import { invalidOption, startGated, startRecorder, withNode } from "./helpers.js";
import { eventually } from "../../../test/support/eventually.js";

const BOUND = 4;
const COUNT = 300;

/** The `i` of a body `{ i }` or of 4 big-endian bytes. */
function indexOf(body: unknown): number {
  if (body instanceof Uint8Array) return new DataView(body.buffer, body.byteOffset, 4).getUint32(0);
  return (body as { i: number }).i;
}

/** A main worker that handles nothing until `open()`, bound at BOUND messages; `got` lists the `i` it handled, in order. */
const startGatedByIndex = (n: Node, address = "gated") => startGated(n, address, BOUND, indexOf);

const range = (count: number): number[] => Array.from({ length: count }, (_, i) => i);

describe("trySend and tryForward", () => {
  it("on the main thread: true while the hop has room, false once it is full and while a send to it waits, true again once it drains", async () => {
    await withNode({}, async (n) => {
      const gated = await startGatedByIndex(n);
      let sent = 0;
      while (sent < 100 && n.trySend("gated", { i: sent })) sent++;
      // Nothing is handled during this synchronous loop: BOUND fill the mailbox.
      expect(sent).toBe(BOUND);
      expect(n.trySend("gated", { i: sent })).toBe(false);
      expect(n.tryForward(new LocalMessage(route("gated"), route(n.address), encodeBody({ i: sent })))).toBe(false);
      const waiting = n.send("gated", { i: sent++ });
      gated.open();
      // Still full (the opened handler runs later), and a send waits for it: refused.
      expect(n.trySend("gated", { i: sent })).toBe(false);
      await waiting;
      await eventually(() => gated.got.length === sent, 20_000, "the gated worker handled what was sent");
      expect(n.trySend("gated", { i: sent++ })).toBe(true);
      expect(n.tryForward(new LocalMessage(route("gated"), route(n.address), encodeBody({ i: sent++ })))).toBe(true);
      await eventually(() => gated.got.length === sent, 20_000, "the last two handled");
      expect(gated.got).toEqual(range(sent));
    });
  }, 60_000);

  const cases = (["main", "thread", "pool"] as const).flatMap((placement) => [
    { placement, bytes: false, forward: false, what: "trySend of a body" },
    { placement, bytes: true, forward: false, what: "trySend of bytes" },
    { placement, bytes: false, forward: true, what: "tryForward" },
  ]);
  for (const { placement, bytes, forward, what } of cases) {
    it(`${placement} sender, ${what}: refused where send would wait, the refused sent by send, all delivered once in order`, async () => {
      // A small link window: a thread's sends wait (and it is told the hop is full) after a few dozen.
      await withNode({ linkWindowBytes: 1024 }, async (n) => {
        const gated = await startGatedByIndex(n);
        const reports = await startRecorder(n, "report");
        await n.startWorker("sender", TrySender, { placement });
        const answer = n.sendAndReceive<{ refused?: number[]; error?: unknown }>("sender", { to: "gated", count: COUNT, bytes, forward, report: "report", yieldEvery: 16 }, { timeout: 60_000 });
        if (placement === "pool") {
          // A pool task's sends go with its result and never wait: none is refused.
          gated.open();
        } else {
          // A main sender is refused once the gated mailbox is full; a thread's first is refused
          // (its hop not granted yet), and a later one once its link's window is used up or the main
          // thread has said the hop is full.
          await eventually(() => reports.some((i) => (i as number) > 0), 20_000, "a refusal for a full hop");
          gated.open();
        }
        const { refused, error } = await answer;
        expect(error).toBeUndefined();
        if (placement === "pool") expect(refused).toEqual([]);
        else expect(refused!.some((i) => i > 0)).toBe(true);
        if (placement === "thread") expect(refused![0]).toBe(0);
        if (placement === "main") expect(refused![0]).toBe(BOUND);
        // Most went at once: trySend sends, it does not only refuse.
        expect(refused!.length).toBeLessThan(COUNT / 2);
        await eventually(() => gated.got.length === COUNT, 20_000, "every message handled");
        expect(gated.got).toEqual(range(COUNT));
      });
    }, 60_000);
  }

  it("on a thread, trySend refuses a hop the main thread said is full, and not another hop meanwhile", async () => {
    await withNode({ linkWindowBytes: 4096 }, async (n) => {
      const full = await startGatedByIndex(n, "full");
      const other = await startRecorder(n, "other");
      await n.startWorker("sender", TryAroundFullHop, { placement: "thread" });
      const answer = await n.sendAndReceive<{ stillWaiting: boolean; triedFull: boolean; tried: boolean }>("sender", { full: "full", other: "other", pad: 256 }, { timeout: 60_000 });
      full.open(); // the node stops without waiting out a handler that never returns
      expect(answer.stillWaiting).toBe(true);
      expect(answer.triedFull).toBe(false);
      expect(answer.tried).toBe(true);
      await eventually(() => other.some((body) => indexOf(body) === -3), 20_000, "the tried message delivered");
    });
  }, 60_000);

  it("on a thread, trySend refuses a hop the main thread said is full even while nothing of the worker waits for it", async () => {
    await withNode({ linkWindowBytes: 4096 }, async (n) => {
      const full = await startGatedByIndex(n, "full");
      await startRecorder(n, "other");
      await n.startWorker("sender", TryFullHopNothingWaiting, { placement: "thread" });
      // Without the check the worker's stream stalls behind the full hop and never answers: the timeout says so.
      const answer = await n.sendAndReceive<{ refusedWithRoom: boolean }>("sender", { full: "full", other: "other", pad: 256 }, { timeout: 30_000 });
      full.open();
      expect(answer.refusedWithRoom).toBe(true);
    });
  }, 60_000);

  it("on the main thread, never overtakes a waiting send, even in the moment the hop has room again", async () => {
    await withNode({}, async (n) => {
      const got: unknown[] = [];
      const tried: boolean[] = [];
      let probing = false;
      let open!: () => void;
      const gate = new Promise<void>((resolve) => (open = resolve));
      await n.startWorker(
        "gated",
        {
          handleMessage: async (_ctx: Context, msg: Routed) => {
            // First, synchronously: the mailbox has just let this message go, which may be what
            // gave it room, before the waiting send's wake-up (a microtask) has run.
            if (probing && tried.length < 2 * BOUND) tried.push(n.trySend("gated", `tried ${tried.length}`));
            await gate;
            got.push(msg.body);
          },
        },
        { placement: "main", mailbox: { maxMessages: BOUND } },
      );
      let sent = 0;
      while (sent < 100 && n.trySend("gated", sent)) sent++;
      expect(sent).toBe(BOUND);
      const waiting = n.send("gated", BOUND);
      probing = true;
      open();
      await waiting;
      await eventually(() => got.length === BOUND + 1 + tried.filter(Boolean).length, 20_000, "everything handled");
      // Some were refused (the moment above), and nothing trySend took came before the send that waited.
      expect(tried).toContain(false);
      expect(got.slice(0, BOUND + 1)).toEqual(range(BOUND + 1));
    });
  }, 60_000);

  it("throws what send rejects with: a bad option, an unknown address, a stopped node", async () => {
    const n = await node({});
    try {
      await startRecorder(n, "sink");
      expect(() => n.trySend("sink", 1, { timeout: 5 } as never)).toThrow(invalidOption("timeout", /trySend never waits/));
      expect(() => n.trySend("sink", 1, { signal: new AbortController().signal } as never)).toThrow(invalidOption("signal"));
      expect(() => n.trySend("sink", 1, { ifFull: "drop" } as never)).toThrow(invalidOption("ifFull"));
      expect(() => n.trySend("sink", 1, { localInfo: "a" } as never)).toThrow(invalidOption("localInfo"));
      expect(() => n.trySend("sink", 1, { nope: 1 } as never)).toThrow(invalidOption("nope"));
      expect(() => n.tryForward("sink" as never)).toThrow(invalidOption("message"));
      expect(() => n.trySend("nobody", 1)).toThrow(UnknownAddressError);
      expect(() => n.tryForward(new LocalMessage(route("nobody"), route(n.address), encodeBody(1)))).toThrow(UnknownAddressError);
      expect(n.trySend("sink", 1, { localInfo: { tenant: "a" } })).toBe(true);
      // Left undefined, a wait-only option is no option at all, as for send.
      expect(n.trySend("sink", 2, { timeout: undefined, signal: undefined, ifFull: undefined } as never)).toBe(true);
    } finally {
      await n.stop();
    }
    expect(() => n.trySend("sink", 1)).toThrow(NodeStoppedError);
  }, 30_000);
});
