// Role: the TCP service behind a portal (or a tunnel, or nothing) in the bulk runs. It
// accepts one connection and counts raw bytes: the window opens warmupMs after the first
// byte, once warmBytes have arrived (warm-count.ts's rule), and lasts durationMs, so what is
// counted was delivered, not merely queued.
import { performance } from "node:perf_hooks";
import { runBenchChild } from "../proc/child.js";
import { closed, listen } from "../net/endpoints.js";
import { warmedUp } from "../warm-count.js";

export interface ByteSinkParams {
  warmupMs: number;
  /** Bytes that must have arrived before the window opens (0: time only). */
  warmBytes: number;
  durationMs: number;
}
export interface ByteSinkReady {
  port: number;
}
export interface ByteSinkResult {
  bytes: number;
  seconds: number;
}

runBenchChild<ByteSinkParams, ByteSinkReady, ByteSinkResult>(async (p, io) => {
  let resolveDone!: (r: ByteSinkResult) => void;
  let rejectDone!: (e: Error) => void;
  const done = new Promise<ByteSinkResult>((res, rej) => ((resolveDone = res), (rejectDone = rej)));
  const listening = await listen(false, (socket) => {
    let first = -1;
    let opened = -1;
    let bytes = 0;
    let warmBytes = 0;
    socket.on("data", (chunk: Buffer) => {
      const now = performance.now();
      if (first < 0) first = now;
      if (opened < 0) {
        warmBytes += chunk.length;
        if (!warmedUp(now, first, p.warmupMs, warmBytes, p.warmBytes)) return;
        opened = now;
      }
      bytes += chunk.length;
      if (now - opened >= p.durationMs) {
        resolveDone({ bytes, seconds: (now - opened) / 1e3 });
        socket.destroy();
      }
    });
    void closed(socket).then(() => rejectDone(new Error("the sender closed before the window ended")));
  });
  io.stop.addEventListener("abort", () => rejectDone(new Error("stopped")));
  io.ready({ port: listening.port });
  try {
    return await done;
  } finally {
    listening.server.close();
  }
});
