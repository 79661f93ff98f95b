// check/warm-*: proves a throughput scenario measures a warm process, not one still getting
// up to speed. A fresh process runs its JavaScript slower until V8 has optimised it (by
// calls, on background threads) and its heaps have grown: a window that opens during that
// ramp reads lower, and doubling the warm-up then raises the figure. One repetition of a
// check runs its target with the full run's steady warm-up (time, warm count and the count's
// cap: windowed() and warm-count.ts) and with all three doubled (doubling.ts). A median
// 2warm/warm at or below WARM_BOUND says the warm-up does not limit the figure.
import { getScenario, type Scenario } from "../../scenario.js";
import { DOUBLING_BOUND, registerDoublingCheck, type CheckFamily } from "./doubling.js";
import { STEADY_MIN_DURATION_MS } from "../tcp/hopwire-topology.js";

export const WARM_BOUND = DOUBLING_BOUND;
export const WARM_CHECK_PREFIX = "check/warm-";
const LABELS = { one: "warm", two: "2warm" };

export const WARM_CHECKS: CheckFamily = { prefix: WARM_CHECK_PREFIX, targets: new Map() };

/**
 * The one-way throughput scenarios whose warm-up is the steady one (windowed() with
 * `steady`), Hopwire's and the baselines they are read against: both sides of a ratio.
 */
export const WARM_CHECKED = [
  "baseline/messageport-batched",
  "baseline/messageport-frames",
  "baseline/tcp-framed",
  "baseline/tcp-proxy",
  "baseline/tls",
  "runtime/main->main",
  "runtime/main->thread",
  "runtime/thread->thread",
  "runtime/pool",
  "runtime/thread->pool",
  "tcp/one-hop-throughput",
  "tcp/one-hop-send",
  "tcp/one-hop-send-from-thread",
  "tcp/one-hop-to-thread",
  "tcp/relay-throughput",
  "secure-channel/one-hop-throughput",
  "secure-channel/one-hop-send",
  "secure-channel/two-hop-throughput",
  "peers/libp2p-throughput",
  "scale/plain-tcp",
  "scale/channels",
  "scale/tls-streams",
  "scale/raw-records",
] as const;

/**
 * The counts a warm check of a scale/ run runs at: the one its target is about (1,000 channels),
 * not all of them (n = 4,000 alone takes a minute a repetition, doubled).
 */
export const WARM_CHECK_COUNTS = { full: [1000], quick: [10] } as const;

/** Registers check/warm-<target> for each registered target (after the targets themselves). */
export function registerWarmChecks(names: readonly string[] = WARM_CHECKED): void {
  for (const targetName of names) {
    const target = getScenario(targetName);
    if (!target) throw new Error(`warm check: no scenario ${targetName}`);
    registerWarmCheck(target);
  }
}

export function registerWarmCheck(target: Scenario): void {
  registerDoublingCheck({
    family: WARM_CHECKS,
    target: target.name,
    description:
      `${target.name} after the steady warm-up of a full run (warm) and after twice it (2warm: twice the time, the warm ` +
      `count and its cap) in each repetition; 2warm/warm = rate after 2warm / rate after warm. Warm when the median ` +
      `2warm/warm ≤ ${WARM_BOUND}. Needs a full run's --duration (the steady warm-up applies from 0.5 s).`,
    params: target.params,
    ...(target.params.includes("count") ? { counts: WARM_CHECK_COUNTS } : {}),
    labels: LABELS,
    runAt: (p, signal, scale) => {
      // Without the steady warm-up there is nothing to double: both runs would be alike and read "warm".
      if (p.durationMs < STEADY_MIN_DURATION_MS) throw new Error(`the warm check of ${target.name} needs --duration ≥ ${STEADY_MIN_DURATION_MS / 1e3} s (a full run's steady warm-up)`);
      return target.run({ ...p, warmScale: scale }, signal);
    },
  });
}
