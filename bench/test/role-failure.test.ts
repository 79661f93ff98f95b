// A role that fails ends its repetition at once, with that role's name and error, and leaves no
// process running: real scenarios, real child processes, one role of each made to fail with the
// HOPWIRE_BENCH_FAIL hook (src/proc/injected-failure.ts), run through the runner as the CLI
// runs them. Each scenario is awaiting another role's result, ready or timer when the failure
// comes (the sink's result, the initiator's, a run timer), which it used to sit out: a timeout
// of 20 s or more (the roles' own, or a child's wait for a port that never comes), after which
// it reported that wait rather than the failure. Every shape that spawns several processes is
// here: one-way throughput, round trip, the relay's three processes, scale, both backpressure runs, the portal
// through a relay node and its node:tls twin.
import { readdirSync, readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import type * as ScenarioMod from "../src/scenario.js";
import type * as RunnerMod from "../src/runner.js";
import type * as ProgressMod from "../src/progress.js";
import type { FailedRecord } from "../src/results.js";

const dist = (m: string): string => new URL(`../dist/${m}.js`, import.meta.url).href;
await import(dist("scenarios/index"));
const { getScenario } = (await import(dist("scenario"))) as typeof ScenarioMod;
const { runCases } = (await import(dist("runner"))) as typeof RunnerMod;
const { Progress } = (await import(dist("progress"))) as typeof ProgressMod;

/** A failure must end the run within this: half the shortest wait it used to sit out, with room for slow process starts on a loaded host. */
const PROMPT_MS = 10_000;

interface FailureCase {
  scenario: string;
  params: Record<string, number>;
  durationMs: number;
  /** HOPWIRE_BENCH_FAIL's value. */
  fail: string;
  role: string;
  /** What the role's error says, as the run must report it. */
  says: RegExp;
}

const START = (role: string): RegExp => new RegExp(`injected failure of ${role} at start`);
const READY = (role: string): RegExp => new RegExp(`injected failure of ${role} at ready`);

const CASES: FailureCase[] = [
  // The sink waits for a first message that never comes.
  { scenario: "tcp/one-hop-throughput", params: { size: 64 }, durationMs: 2_000, fail: "initiator", role: "initiator", says: START("initiator") },
  // A crash (no error reported: its exit and stderr are what there is); the responder and initiator wait on.
  { scenario: "tcp/relay-throughput", params: { size: 64 }, durationMs: 2_000, fail: "middle:exit", role: "middle", says: /exited \(code 3\) without a result\n.*middle: injected crash/ },
  // The round trip awaits the initiator, which then fails on its own: the responder's error comes first and is the one named first.
  { scenario: "tcp/one-hop-rtt", params: { size: 64 }, durationMs: 2_000, fail: "responder:ready", role: "responder", says: READY("responder") },
  { scenario: "scale/channels", params: { count: 2 }, durationMs: 2_000, fail: "initiator", role: "initiator", says: START("initiator") },
  // The run sits on its own timer (5 × duration) while the sender is gone.
  { scenario: "backpressure/slow-consumer", params: {}, durationMs: 4_000, fail: "sender:ready", role: "sender", says: READY("sender") },
  // The bulk run awaits the initiator, itself waiting for a port the failed responder never gave.
  { scenario: "backpressure/bulk-via-relay", params: {}, durationMs: 50, fail: "responder", role: "responder", says: START("responder") },
  // The inlet's handshake through forward_to_bob waits on an outlet node that is gone; the harness waits for the inlet's port.
  { scenario: "portal/via-relay", params: {}, durationMs: 2_000, fail: "outlet-node:ready", role: "outlet-node", says: READY("outlet-node") },
  // The TLS twin: the tunnel client waits for nothing, the sink for a first byte that never comes.
  { scenario: "baseline/portal-tls-via-relay", params: {}, durationMs: 2_000, fail: "tls-relay:ready", role: "tls-relay", says: READY("tls-relay") },
];

/** Bench role processes this test process started that are still running (Linux /proc; a zombie does not run). */
function runningRoles(): string[] {
  const found: string[] = [];
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const [state, ppid] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(ppid) !== process.pid || state === "Z") continue;
      const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
      if (argv.some((a) => a.includes("/bench/dist/roles/"))) found.push(`${pid} ${argv.join(" ")}`);
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

// After a failed assertion too: nothing this file started outlives it.
afterEach(() => {
  delete process.env.HOPWIRE_BENCH_FAIL;
  for (const line of runningRoles()) process.kill(Number(line.split(" ")[0]), "SIGKILL");
});

describe("a role that fails", () => {
  it.each(CASES)("$scenario: $fail ends the repetition at once, names it, and leaves no process", async (c) => {
    const scenario = getScenario(c.scenario)!;
    let progress = "";
    const out = { isTTY: false, write: (s: string) => ((progress += s), true) } as unknown as NodeJS.WriteStream;
    expect(runningRoles()).toEqual([]);

    process.env.HOPWIRE_BENCH_FAIL = c.fail; // the children inherit it
    const t0 = performance.now();
    const records = await runCases(
      [{ scenario, params: c.params, key: c.scenario }],
      { reps: 1, durationMs: c.durationMs, warmupMs: 200 },
      new Progress(1, out),
      new AbortController().signal,
    );
    const elapsed = performance.now() - t0;

    const failed = records.filter((r): r is FailedRecord => r.type === "failed");
    expect(elapsed, failed[0]?.error).toBeLessThan(PROMPT_MS);
    expect(failed).toHaveLength(1);
    expect(failed[0]!.error).toMatch(new RegExp(`^${c.role} process: `));
    expect(failed[0]!.error).toMatch(c.says);
    // The progress line names the role, and a crash's stderr shows under it.
    expect(progress).toMatch(new RegExp(`✗ .*${c.scenario}.* failed: ${c.role} process: `));
    expect(progress).toMatch(c.says);
    expect(runningRoles()).toEqual([]);
  });
});

describe("a role's error", () => {
  it("carries what the role wrote to stderr until the moment it is read, not only until it failed", async () => {
    const { RoleFailedError, RolesFailedError } = (await import(dist("proc/spawn"))) as typeof import("../src/proc/spawn.js");
    let stderr = "sink: first line\n";
    const error = new RoleFailedError("sink", "reported an error", () => stderr);
    expect(error.message).toBe("sink process: reported an error\nsink: first line");
    // The process goes on writing until it exits; withChildren reports after that.
    stderr += "sink: written while exiting\n";
    expect(error.stderrTail).toBe("sink: first line\nsink: written while exiting");
    expect(new RolesFailedError([error]).message).toBe("sink process: reported an error\nsink: first line\nsink: written while exiting");
  });
});
