import { registerScenario } from "../../scenario.js";
import { runSolo } from "../../proc/solo.js";
import type { RunParams } from "../../scenario.js";
import type { MessagePortFormat } from "../../roles/messageport-worker.js";
import { LOCAL_ROUTING_SHARE, warmNote, warmRoundTripsFor, windowed, windowNote } from "../tcp/hopwire-topology.js";

const ROLE = new URL("../../roles/messageport.js", import.meta.url);

/**
 * One repetition, with the window of the runtime/* scenarios read against these baselines:
 * with the CLI's 0.2 s warm-up a baseline's window caught its own first second (2× lower at
 * 64 B than after 1 s).
 */
function runMessagePort(format: MessagePortFormat, p: RunParams, signal: AbortSignal) {
  const w = windowed(p, LOCAL_ROUTING_SHARE, { steady: true });
  return runSolo(ROLE, "process", { size: w.size, format, warmupMs: w.warmupMs, durationMs: w.durationMs, warmMessages: w.warmMessages ?? 0 }, w, signal);
}

export const messagePortBatched = registerScenario({
  name: "baseline/messageport-batched",
  description:
    "msgpackr envelopes [onwardRoute, returnRoute, payload], 64 length-prefixed per transferred " +
    "ArrayBuffer, main thread → worker_thread over a MessagePort; the worker decodes each. One process." +
    windowNote(LOCAL_ROUTING_SHARE, true),
  params: ["size"],
  chart: { series: "MessagePort batched (no I/O)" },
  run: (p, signal) => runMessagePort("envelopes", p, signal),
});

// The floor for runtime/*: bytes across a thread with no encoding at all. The envelopes
// baseline above packs routes per message, which Hopwire does not (it copies a repeated
// head), so a ratio against it says more about msgpackr than about the runtime.
export const messagePortFrames = registerScenario({
  name: "baseline/messageport-frames",
  description:
    "Each size-byte payload behind a u32 length, 64 per transferred ArrayBuffer, main thread → worker_thread over a " +
    "MessagePort; the worker takes a view of each (no envelope, no routes, no encoding: the floor of a thread crossing). " +
    "One process." + windowNote(LOCAL_ROUTING_SHARE, true),
  params: ["size"],
  chart: { series: "MessagePort frames (no I/O)" },
  run: (p, signal) => runMessagePort("frames", p, signal),
});

// The thread hop of a round trip, so that an echo placed on its own thread can be read
// against "framed TCP round trip + one MessagePort ping-pong" from the same run.
registerScenario({
  name: "baseline/messageport-rtt",
  description:
    "One size-byte Uint8Array main thread → worker_thread → main thread (postMessage on the Worker, structured clone " +
    "each way), one outstanding; hrtime latencies in a native histogram. One process." + windowNote(1, true) + warmNote,
  params: ["size"],
  // The same steady warm-up as tcp/one-hop-rtt-thread-echo, which is read against it.
  run: (p, signal) => {
    const w = windowed(p, 1, { steady: true });
    return runSolo(new URL("../../roles/messageport-rtt.js", import.meta.url), "process", { ...w, warmRoundTrips: warmRoundTripsFor(p) }, w, signal);
  },
});
