import { registerScenario } from "../../scenario.js";
import { runSolo } from "../../proc/solo.js";
import { warmNote, warmRoundTripsFor, windowed, windowNote } from "../tcp/hopwire-topology.js";

const ROLE = new URL("../../roles/messageport.js", import.meta.url);

export const messagePortBatched = registerScenario({
  name: "baseline/messageport-batched",
  description:
    "msgpackr envelopes [onwardRoute, returnRoute, payload], 64 length-prefixed per transferred " +
    "ArrayBuffer, main thread → worker_thread over a MessagePort; the worker decodes each. One process.",
  params: ["size"],
  chart: { series: "MessagePort batched (no I/O)" },
  run: (p, signal) => runSolo(ROLE, "process", p, p, signal),
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
