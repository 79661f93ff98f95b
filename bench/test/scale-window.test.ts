// The scale/ one-way runs open their window after a warm count as well as a warm-up time
// (scenarios/scale/scale-window.ts): scale/channels' responder, as its two sinks beside it do
// (scale-raw-records.test.ts, scale-tls-baseline.test.ts), must wait for the messages it is
// told to. Real child processes, the compiled roles, plain TCP between two Hopwire nodes (the
// scale/plain-tcp shape: no channel to open, so the test stays short).
import { describe, expect, it } from "vitest";
import { withChildren } from "../dist/proc/spawn.js";
import type { ScaleResponderReady, ScaleResponderResult } from "../dist/roles/scale-responder.js";
import type { ScaleInitiatorReady, ScaleInitiatorResult } from "../dist/roles/scale-initiator.js";

const role = (name: string): URL => new URL(`../dist/roles/${name}.js`, import.meta.url);

describe("scale/channels' responder", () => {
  it("opens its window once its warm count has arrived", async () => {
    const warmMessages = 20_000;
    const r = await withChildren(new AbortController().signal, 30_000, async (spawn) => {
      const responder = spawn<ScaleResponderReady, ScaleResponderResult>("responder", role("scale-responder"), {
        channels: false,
        sink: true,
        count: 1,
        size: 1024,
        warmupMs: 50,
        warmMessages,
        durationMs: 100,
      });
      const { port } = await responder.ready;
      const initiator = spawn<ScaleInitiatorReady, ScaleInitiatorResult>("initiator", role("scale-initiator"), { port, channels: false, count: 1, size: 1024, concurrency: 1 });
      const result = (await responder.result).data;
      initiator.stop();
      await initiator.result;
      return result;
    });
    expect(r.window!.before).toBeGreaterThanOrEqual(warmMessages);
    expect(r.window!.messages).toBeGreaterThan(0);
  });
});
