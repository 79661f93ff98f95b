// A peer that withholds credit cannot stall a service it shares with others (session 43's
// adversarial trial): across real processes, the built-in Echoer on a thread answers one peer
// whose channel returns no credit, and another peer's round trips still come back. Before
// `ifFull: "drop"`, the Echoer's answers filled that channel's queue, the main thread stopped
// reading the Echoer's thread behind them, and the other peer's requests timed out.
import { afterEach, describe, expect, it } from "vitest";
import { killAll, startChild } from "./support/children.js";
import { fixture, listening } from "./support/flow.js";

afterEach(() => killAll());

describe("a peer that withholds credit", () => {
  it("does not stall the built-in Echoer for another peer: its answers are dropped (reason \"full\"), the other's come back", async () => {
    try {
      const responder = startChild(fixture("flow/echo-responder.mjs"), []);
      // 20,000 questions of 1 KiB: the 10 answers its window takes, then 4 MiB of the channel's send queue, then full.
      const peers = startChild(fixture("flow/withholding-peer.mjs"), [await listening(responder), "bob_listener", "20000"]);
      const outcome = await Promise.race([peers.line(/^ECHO (\S+) (\S+)$/), peers.line(/^ERROR (.*)$/)]);
      expect(outcome[0]).toMatch(/^ECHO /);
      const [, p50, max] = outcome;
      console.log(`round trips beside a peer withholding credit: p50 ${p50} ms, max ${max} ms`);
      // The withholding peer's channel did fill: the Echoer dropped answers to it (the latest count is at least the first).
      const [, dropped] = await responder.line(/^DROPPED_FULL (\d+)$/);
      expect(Number(dropped)).toBeGreaterThan(0);
    } finally {
      killAll();
    }
  }, 120_000);
});
