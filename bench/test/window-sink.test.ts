// The one-way sink placed on a thread (tcp/one-hop-to-thread): it loads in a worker thread,
// counts data messages (not control ones) and reports its window to the main thread.
import { describe, expect, it } from "vitest";
import { node, route, type Context, type Routed } from "@hopwire/runtime";
import { WindowSink, type WindowReport } from "../dist/roles/window-sink.js";

describe("WindowSink on a thread", () => {
  it("reports its window's opening, then how many data messages it counted over it", async () => {
    const n = await node({ name: "window-sink-test" });
    try {
      const reports: WindowReport[] = [];
      let finished!: () => void;
      const done = new Promise<void>((resolve) => (finished = resolve));
      await n.startWorker(
        "report",
        {
          handleMessage(_ctx: Context, msg: Routed<WindowReport>) {
            reports.push(msg.body);
            if (msg.body !== "open") finished();
          },
        },
        { placement: "main" },
      );
      // Opens at once (no warm-up, no warm count), lasts 20 ms of its own clock.
      await n.startWorker("sink", WindowSink, { args: [0, 20, 0, "report"] });
      const data = new Uint8Array(100);
      const control = new Uint8Array(8);
      let sent = 0;
      while (reports.length < 2) {
        for (let i = 0; i < 64; i++, sent++) await n.send(route("sink"), i % 2 === 0 ? data : control);
        await new Promise((resolve) => setImmediate(resolve));
      }
      await done;
      expect(reports[0]).toBe("open");
      const window = reports[1] as Exclude<WindowReport, "open">;
      // Counted from the opening (data messages only), over at least the 20 ms asked for.
      expect(window.messages).toBeGreaterThan(0);
      expect(window.messages).toBeLessThan(sent / 2);
      expect(window.seconds).toBeGreaterThanOrEqual(0.02);
      expect(window.busy).toBeGreaterThan(0);
      expect(window.busy).toBeLessThanOrEqual(1);
    } finally {
      await n.stop();
    }
  });
});
