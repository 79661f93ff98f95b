// The figures of backpressure/slow-consumer, from the samples of its receiver and sender
// (sampler.ts): goodput after the warm-up, RSS growth and RSS at the end of each process,
// messages sent but not yet delivered, and the series the docs chart.
import type { Sample } from "./sampler.js";
import type { Metric, TimeSeries } from "./scenario.js";

const MiB = 2 ** 20;

export interface SlowConsumerFigures {
  metrics: Metric[];
  series: TimeSeries[];
}

/** The first sample at or after `t` (epoch ms), or the last one. */
function at(samples: readonly Sample[], t: number): Sample {
  return samples.find((s) => s[0] >= t) ?? samples[samples.length - 1]!;
}

function growth(samples: readonly Sample[], fromMs: number): number {
  const base = at(samples, fromMs)[1];
  const peak = Math.max(...samples.filter((s) => s[0] >= fromMs).map((s) => s[1]), base);
  return (peak - base) / MiB;
}

/** Delivered messages per second between consecutive receiver samples. */
function goodputSeries(receiver: readonly Sample[], t0: number): [number, number][] {
  return receiver.slice(1).flatMap((s, i): [number, number][] => {
    const prev = receiver[i]!;
    const dt = (s[0] - prev[0]) / 1e3;
    return s[0] < t0 || !(dt > 0) ? [] : [[(s[0] - t0) / 1e3, (s[2] - prev[2]) / dt]];
  });
}

export function slowConsumerFigures(receiver: readonly Sample[], sender: readonly Sample[], warmupMs: number): SlowConsumerFigures {
  if (receiver.length < 2 || sender.length < 2) throw new Error("too few samples to measure (the run was too short)");
  const t0 = sender[0]![0];
  const warm = t0 + warmupMs;
  const r0 = at(receiver, warm);
  const r1 = receiver[receiver.length - 1]!;
  const seconds = (r1[0] - r0[0]) / 1e3;
  if (!(seconds > 0)) throw new Error("no receiver sample after the warm-up");
  // Charted from the sender's first sample (the receiver starts earlier).
  const mib = (rows: readonly Sample[]): [number, number][] => rows.filter((s) => s[0] >= t0).map((s) => [(s[0] - t0) / 1e3, s[1] / MiB]);
  const lower = (name: string, unit: string, value: number): Metric => ({ name, unit, value, higherIsBetter: false });
  return {
    metrics: [
      { name: "goodput", unit: "msg/s", value: (r1[2] - r0[2]) / seconds, higherIsBetter: true },
      lower("rss growth:receiver", "MiB", growth(receiver, warm)),
      lower("rss growth:sender", "MiB", growth(sender, warm)),
      lower("rss end:receiver", "MiB", r1[1] / MiB),
      lower("rss end:sender", "MiB", sender[sender.length - 1]![1] / MiB),
      lower("queued", "msgs", Math.max(0, sender[sender.length - 1]![2] - r1[2])),
    ],
    series: [
      { name: "receiver RSS", unit: "MiB", points: mib(receiver) },
      { name: "sender RSS", unit: "MiB", points: mib(sender) },
      { name: "delivered", unit: "msg/s", points: goodputSeries(receiver, t0) },
    ],
  };
}
