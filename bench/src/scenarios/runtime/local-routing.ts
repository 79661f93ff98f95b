// runtime/*: local routing, one-way, inside one Hopwire node (one child process), against
// the floor of a thread crossing (baseline/messageport-frames: bare length-prefixed payloads,
// 64 per transferred buffer).
import { registerScenario } from "../../scenario.js";
import { runSolo } from "../../proc/solo.js";
import type { RuntimeMode } from "../../roles/hopwire-runtime.js";
import { WARM_TICKS, WINDOW_TICKS } from "../../roles/blast-shape.js";
import { LOCAL_ROUTING_SHARE, windowed, windowNote } from "../tcp/hopwire-topology.js";
import { registerWindowCheck } from "../check/window-check.js";
import { WARM_BYTES, WARM_COUNT_CAP_MS } from "../../warm-count.js";
import type { RunParams } from "../../scenario.js";

const ROLE = new URL("../../roles/hopwire-runtime.js", import.meta.url);

/** `crosses`: the messages cross a thread, so a MessagePort crossing is their baseline; main->main has none. */
const MODES: { mode: RuntimeMode; what: string; crosses: boolean }[] = [
  { mode: "main->main", what: "a Blaster worker and a counting sink both placed \"main\" (the router, no thread crossing; no baseline)", crosses: false },
  { mode: "main->thread", what: "a Blaster placed \"main\" to a counting sink on its own thread (the default placement)", crosses: true },
  { mode: "thread->thread", what: "a Blaster on its own thread to a counting sink on another thread, through the main thread's router", crosses: true },
  { mode: "pool", what: "a Blaster placed \"main\" to a stateless sink placed \"pool\" (one piscina slot; one batch task in flight per sender)", crosses: true },
  { mode: "thread->pool", what: "a Blaster on its own thread to a stateless sink placed \"pool\", through the main thread's router (one piscina slot)", crosses: true },
];

/** One repetition, its tick window × scale (1 = the scenario, 2 = the window check's 2W). */
function runAt(mode: RuntimeMode, full: RunParams, signal: AbortSignal, windowScale: number) {
  const p = windowed(full, LOCAL_ROUTING_SHARE, { steady: true }); // a quarter of --duration: see windowed()
  return runSolo(ROLE, "process", { mode, size: p.size, warmupMs: p.warmupMs, durationMs: p.durationMs, windowScale, warmMessages: p.warmMessages ?? 0 }, p, signal);
}

for (const { mode, what, crosses } of MODES) {
  const name = `runtime/${mode}`;
  registerScenario({
    name,
    description:
      `Context.trySend of size-byte bodies (Context.send for one it refuses), ${what}. Counted by ticks the sink answers in order behind the ` +
      `data (up to ${WINDOW_TICKS} ticks of ~64 KiB outstanding, each turn's last send awaited; the window ` +
      `opens after ${WARM_TICKS} answered ticks and the warm-up, and in a full run once ${WARM_BYTES / 2 ** 20} MiB of payload ` +
      `have been answered, at most ${WARM_COUNT_CAP_MS / 1e3} s after the first); busy:* = event-loop utilisation of the ` +
      "source's and the sink's threads. One process." + windowNote(LOCAL_ROUTING_SHARE, true),
    params: ["size"],
    ...(crosses ? { baseline: "baseline/messageport-frames" } : {}),
    run: (full, signal) => runAt(mode, full, signal, 1),
  });
  registerWindowCheck({ name, params: ["size"], window: `${WINDOW_TICKS} ticks of ~64 KiB`, runAt: (p, signal, scale) => runAt(mode, p, signal, scale) });
}
