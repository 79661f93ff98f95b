// The targets report (report/targets.ts) on hand-made results: each bound is met exactly at
// its value and missed just past it, a figure the run lacks is "not measured" (never met), and
// the derived targets (thread echo, crypto thread) compute from the records they name.
import { describe, expect, it } from "vitest";
import type * as TargetsMod from "../src/report/targets.js";
import type * as MarkdownMod from "../src/report/markdown.js";
import type * as MachineMod from "../src/machine.js";
import type { BenchRecord, ResultRecord } from "../src/results.js";
import type { Params } from "../src/scenario.js";

const dist = (m: string): string => new URL(`../dist/${m}.js`, import.meta.url).href;
const { targetRows, verdictOf, checksText, renderTargetsText } = (await import(dist("report/targets"))) as typeof TargetsMod;
const { renderMarkdown } = (await import(dist("report/markdown"))) as typeof MarkdownMod;
const { machineRecord } = (await import(dist("machine"))) as typeof MachineMod;

function result(scenario: string, metric: string, params: Params, median: number, ratio: number | null = null): ResultRecord {
  return {
    type: "result",
    scenario,
    family: scenario.split("/")[0]!,
    params,
    metric,
    unit: metric,
    higherIsBetter: metric !== "p50",
    median,
    min: median,
    max: median,
    reps: 1,
    samples: [median],
    baseline: null,
    ratio,
  };
}

const file = (...results: ResultRecord[]): BenchRecord[] => [machineRecord({ reps: 5, durationS: 1, warmupS: 0.2, quick: false }), ...results];

function row(records: readonly BenchRecord[], startsWith: string): TargetsMod.TargetRow {
  const found = targetRows(records).find((r) => r.target.startsWith(startsWith));
  expect(found, `a target starting "${startsWith}"`).toBeDefined();
  return found!;
}

describe("the targets report", () => {
  it("meets a ratio target at its bound and misses it below, size by size", () => {
    const records = file(
      result("tcp/relay-throughput", "msg/s", { size: 64 }, 1, 0.3),
      result("tcp/relay-throughput", "msg/s", { size: 1024 }, 1, 0.79),
      result("tcp/relay-throughput", "msg/s", { size: 16384 }, 1, 1.2),
    );
    const relay = row(records, "relay");
    expect(relay.checks.map((c) => c.met)).toEqual([true, false, true]);
    expect(verdictOf(relay)).toBe("missed: 1 KiB; met: 64 B, 16 KiB");
    expect(checksText(relay)).toBe("64 B 0.30×; 1 KiB 0.79× (missed); 16 KiB 1.20×");
  });

  it("on the terminal, says what kind of run the file holds: a quick one is not to be quoted", () => {
    const quick: BenchRecord[] = [machineRecord({ reps: 2, durationS: 0.15, warmupS: 0.05, quick: true })];
    const [first] = renderTargetsText(quick).split("\n");
    expect(first).toMatch(/^run: .* · 2 × 0\.15 s · a quick or smoke run: short repetitions, figures not to be quoted$/);
    expect(renderTargetsText(file()).split("\n")[0]).not.toMatch(/quick/);
  });

  it("says 'not measured' for what the run lacks, and never calls it met", () => {
    const records = file(result("runtime/main->thread", "msg/s", { size: 64 }, 1, 0.9));
    const mainToThread = row(records, "main→thread");
    expect(mainToThread.checks.map((c) => c.met)).toEqual([true, undefined, undefined]);
    expect(verdictOf(mainToThread)).toBe("met (part not measured)");
    expect(verdictOf(row(records, "seed echo"))).toBe("not measured");
    expect(verdictOf(row(file(), "pool"))).toBe("not measured");
  });

  it("reads a latency ratio (baseline / median) as a slowdown against its largest allowed", () => {
    const records = file(
      result("secure-channel/seed-echo-rtt", "p50", { size: 64 }, 170, 0.5), // exactly 2× slower: met
      result("secure-channel/seed-echo-rtt", "p50", { size: 1024 }, 171, 0.49),
      result("secure-channel/seed-echo-rtt", "p50", { size: 16384 }, 100, 1.25),
    );
    const seed = row(records, "seed echo");
    expect(seed.checks.map((c) => c.met)).toEqual([true, false, true]);
    expect(seed.checks[0]!.shown).toBe("2.00× slower");
  });

  it("shows the seed echo beside its raw floor at the same size, without judging by it", () => {
    const records = file(
      result("secure-channel/seed-echo-rtt", "p50", { size: 64 }, 250, 0.4),
      result("baseline/seed-floor-rtt", "p50", { size: 64 }, 200, 0.5),
      result("secure-channel/seed-echo-rtt", "p50", { size: 1024 }, 170, 0.5),
    );
    const seed = row(records, "seed echo");
    expect(seed.checks[0]).toMatchObject({ shown: "2.50× slower (raw floor 2.00×)", met: false });
    // No floor measured at 1 KiB: the figure alone, judged as before.
    expect(seed.checks[1]).toMatchObject({ shown: "2.00× slower", met: true });
  });

  it("compares the thread echo with 1.5× framed TCP plus one MessagePort ping-pong of the same run", () => {
    const at = (size: number, echo: number, tcp: number, port: number): ResultRecord[] => [
      result("tcp/one-hop-rtt-thread-echo", "p50", { size }, echo),
      result("baseline/tcp-framed-rtt", "p50", { size }, tcp),
      result("baseline/messageport-rtt", "p50", { size }, port),
    ];
    // 1.5 × 40 + 40 = 100 µs: 100 is met, 101 is not.
    const records = file(...at(64, 100, 40, 40), ...at(1024, 101, 40, 40), result("baseline/tcp-framed-rtt-thread-echo", "p50", { size: 64 }, 99));
    const echo = row(records, "round trip, echo on a thread");
    expect(echo.checks.map((c) => c.met)).toEqual([true, false, undefined]);
    expect(echo.checks[0]!.shown).toBe("100 µs vs 100 µs (1.00×; 1.25× framed TCP + one ping-pong; raw floor 99.0 µs)");
  });

  it("divides the 16 KiB channel with one crypto thread by the inline one", () => {
    const channel = (cryptoThreads: number, median: number): ResultRecord =>
      result("secure-channel/one-hop-throughput", "msg/s", { size: 16384, cryptoThreads, provider: "node" }, median, 1);
    expect(row(file(channel(0, 100), channel(1, 130)), "1 crypto thread").checks[0]).toMatchObject({ shown: "1.30×", met: true });
    expect(row(file(channel(0, 100), channel(1, 129)), "1 crypto thread").checks[0]).toMatchObject({ met: false });
    // The noble provider's figures are another target's business.
    const noble = result("secure-channel/one-hop-throughput", "msg/s", { size: 16384, cryptoThreads: 1, provider: "noble" }, 500, 1);
    expect(row(file(channel(0, 100), noble), "1 crypto thread").checks[0]!.met).toBeUndefined();
  });

  it("shows the 1,000-channel rate beside its floor, bare node:crypto records, without judging by it", () => {
    const channels = result("scale/channels", "msg/s", { count: 1000 }, 30_000, 0.04);
    const floorAt = (count: number): ResultRecord => result("scale/raw-records", "msg/s", { count }, 130_000, 0.07);
    const rate = (records: BenchRecord[]): TargetsMod.TargetCheck => row(records, "1,000 channels").checks[0]!;
    expect(rate(file(channels, floorAt(1000)))).toMatchObject({ shown: "0.04× (floor, bare node:crypto records: 0.07×)", met: false });
    // Only the floor at the same n is shown; without it the figure reads as it did.
    expect(rate(file(channels, floorAt(100)))).toMatchObject({ shown: "0.04×", met: false });
    expect(rate(file(result("scale/channels", "msg/s", { count: 1000 }, 300_000, 0.5), floorAt(1000)))).toMatchObject({ met: true });
  });

  it("needs both at least 1,000 handshakes a second and parity with TLS", () => {
    const hs = (median: number, ratio: number): BenchRecord[] => file(result("secure-channel/handshakes", "hs/s", { provider: "node" }, median, ratio));
    expect(row(hs(1000, 1), "handshakes").checks[0]!.met).toBe(true);
    expect(row(hs(999, 2), "handshakes").checks[0]!.met).toBe(false);
    expect(row(hs(2000, 0.99), "handshakes").checks[0]!.met).toBe(false);
  });

  it("is a section of BENCHMARKS.md", () => {
    const md = renderMarkdown(file(result("runtime/pool-cpu-2-threads", "msg/s", {}, 10, 1.69)), [], "test.json");
    const section = md.split("## Targets")[1]?.split("\n## ")[0] ?? "";
    expect(section).toMatch(/\| pool, 2 threads ≥ 1\.7× one \| 1\.69× \(missed\) \| missed \|/);
  });
});
