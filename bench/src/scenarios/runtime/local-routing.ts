// runtime/*: local routing, one-way, inside one Hopwire node (one child process), against
// the hand-batched MessagePort baseline (msgpackr envelopes, 64 per transferred buffer).
import { registerScenario } from "../../scenario.js";
import { runSolo } from "../../proc/solo.js";
import type { RuntimeMode } from "../../roles/hopwire-runtime.js";
import { windowed, windowNote } from "../tcp/hopwire-topology.js";

const ROLE = new URL("../../roles/hopwire-runtime.js", import.meta.url);

const MODES: { mode: RuntimeMode; what: string }[] = [
  { mode: "main->main", what: "a Blaster worker and a counting sink both placed \"main\" (the router, no thread crossing)" },
  { mode: "main->thread", what: "a Blaster placed \"main\" to a counting sink on its own thread (the default placement)" },
  { mode: "thread->thread", what: "a Blaster on its own thread to a counting sink on another thread, through the main thread's router" },
  { mode: "pool", what: "a Blaster placed \"main\" to a stateless sink placed \"pool\" (one piscina slot; one batch task in flight per sender)" },
];

for (const { mode, what } of MODES) {
  registerScenario({
    name: `runtime/${mode}`,
    description:
      `Context.send of size-byte bodies, ${what}. Counted by ticks the sink answers in order behind the ` +
      "data (4 ticks of ~64 KiB outstanding); one process." + windowNote(0.25),
    params: ["size"],
    baseline: "baseline/messageport-batched",
    run: (full, signal) => {
      const p = windowed(full, 0.25); // a quarter of --duration: see windowed()
      return runSolo(ROLE, "process", { mode, size: p.size, warmupMs: p.warmupMs, durationMs: p.durationMs }, p, signal);
    },
  });
}
