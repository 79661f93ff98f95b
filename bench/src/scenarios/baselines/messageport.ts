import { registerScenario } from "../../scenario.js";
import { runSolo } from "../../proc/solo.js";

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
