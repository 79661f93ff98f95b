// The console table printed at the end of a run.
import { machineOf, nodeFlagsNote, type BenchRecord } from "../results.js";
import { HEADERS, NOISY_SPREAD, notesFor, rowsFor } from "./rows.js";
import { renderTextTable } from "./text-table.js";

export function renderConsoleTable(records: readonly BenchRecord[]): string {
  const m = machineOf(records);
  const head = `${m.node} · ${m.cpu} · ${m.cores} cores · ${(m.totalMemory / 2 ** 30).toFixed(0)} GiB · ${m.platform}` +
    ` · ${m.settings.reps} reps × ${m.settings.durationS} s${nodeFlagsNote(m)}${m.settings.quick ? " (quick: smoke figures only)" : ""}`;
  const table = renderTextTable(HEADERS, rowsFor(records), new Set([3, 4, 5, 6]));
  const notes = notesFor(records);
  const legend = [
    "ratio: relative to the baseline measured in this run; 1.00× = parity, below 1 = worse (latency and memory inverted).",
    `!: max/min of the repetitions above ${NOISY_SPREAD}; load average at start ${m.loadAverage.join(" ")}.`,
  ].join("\n");
  return [head, "", table, "", legend, ...notes].join("\n");
}
