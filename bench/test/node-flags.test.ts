// HOPWIRE_BENCH_NODE_FLAGS gives every process a run starts the same Node flags, Hopwire's and
// the baselines' alike, and the run's machine record (so every report of it) names them.
import { afterEach, describe, expect, it } from "vitest";
import { withChildren } from "../dist/proc/spawn.js";
import { BENCH_NODE_FLAGS_ENV, benchNodeFlags } from "../dist/proc/node-flags.js";
import { machineRecord } from "../dist/machine.js";
import { describeRun } from "../dist/results.js";

const ROLE = new URL("./fixtures/exec-argv-role.mjs", import.meta.url);

/** The flags a bench child sees, started under the current environment. */
async function childFlags(): Promise<string[]> {
  return withChildren(new AbortController().signal, 30_000, async (spawn) => {
    const child = spawn<unknown, { execArgv: string[] }>("probe", ROLE, {});
    child.stop();
    return (await child.result).data.execArgv;
  });
}

afterEach(() => {
  delete process.env[BENCH_NODE_FLAGS_ENV];
});

describe("HOPWIRE_BENCH_NODE_FLAGS", () => {
  it("starts every bench child with the flags it lists", async () => {
    expect(await childFlags()).toEqual([]);
    process.env[BENCH_NODE_FLAGS_ENV] = "  --max-semi-space-size=8   --no-warnings ";
    expect(await childFlags()).toEqual(["--max-semi-space-size=8", "--no-warnings"]);
  });

  it("is named in the run's description, and absent when unset or empty", () => {
    const settings = { reps: 5, durationS: 1, warmupS: 0.2, quick: false };
    expect(describeRun(machineRecord(settings))).not.toMatch(/node flags/);
    expect(benchNodeFlags({ [BENCH_NODE_FLAGS_ENV]: " " })).toEqual([]);
    const nodeFlags = benchNodeFlags({ [BENCH_NODE_FLAGS_ENV]: "--initial-old-space-size=64" });
    expect(describeRun(machineRecord({ ...settings, nodeFlags }))).toMatch(/ · node flags: --initial-old-space-size=64/);
  });
});
