// check/warm-* compares two runs of a target: it proves something only if doubling the warm-up
// reaches the process that opens the window. Here every checked target runs with its child
// processes replaced by a recorder (proc/spawn's standInForSpawn): whatever role the
// target spawns with a warm-up must be given twice the warm-up time and twice the warm count
// at warmScale 2 — and, for each pair a ratio is read from, the same rule on both sides.
import { afterAll, describe, expect, it } from "vitest";
import type * as SpawnMod from "../src/proc/spawn.js";
import type * as ScenarioMod from "../src/scenario.js";
import type * as WarmCheckMod from "../src/scenarios/check/warm-check.js";
import type * as WarmMod from "../src/warm-count.js";

const dist = (m: string): string => new URL(`../dist/${m}.js`, import.meta.url).href;

interface Spawned {
  role: string;
  params: Record<string, unknown>;
}
let spawned: Spawned[] = [];
const STOP = new Error("stopped by the test: only the spawn parameters are wanted");
const rejected = (): Promise<never> => {
  const p = Promise.reject(STOP);
  p.catch(() => undefined); // awaited by the target or not: never an unhandled rejection
  return p;
};

const { standInForSpawn, withChildren } = (await import(dist("proc/spawn"))) as typeof SpawnMod;
// Every withChildren below records what it would spawn and starts nothing.
standInForSpawn(((role: string, _script: URL, params: Record<string, unknown>) => {
  spawned.push({ role, params });
  return { ready: rejected(), result: rejected(), stop: () => undefined };
}) as unknown as Parameters<typeof standInForSpawn>[0]);
afterAll(() => standInForSpawn(undefined));
// No real child process may start here: stop at once if the stand-in did not take.
await withChildren(new AbortController().signal, 1, async (spawn) => void spawn("probe", new URL(dist("proc/spawn")), { durationMs: 0 }));
if (spawned.length !== 1) throw new Error("the spawn stand-in is not in place");
await import(dist("scenarios/index"));
const { getScenario } = (await import(dist("scenario"))) as typeof ScenarioMod;
const { WARM_CHECKED } = (await import(dist("scenarios/check/warm-check"))) as typeof WarmCheckMod;
const { warmMessagesFor } = (await import(dist("warm-count"))) as typeof WarmMod;

/** The warm-up every spawned role that has one was given, for one run of `name` at `warmScale`. */
async function warmUpsOf(name: string, warmScale: number): Promise<{ role: string; warmupMs: unknown; warmMessages: unknown }[]> {
  spawned = [];
  const params = { size: 64, count: 10, cryptoThreads: 0, provider: "node" as const, durationMs: 1000, warmupMs: 200, warmScale };
  await getScenario(name)!.run(params, new AbortController().signal).catch((e: unknown) => {
    if (e !== STOP && !(e instanceof Error && /stopped by the test/.test(e.message))) throw e;
  });
  return spawned.filter((s) => "warmupMs" in s.params && Number(s.params.durationMs) > 0).map((s) => ({ role: s.role, warmupMs: s.params.warmupMs, warmMessages: s.params.warmMessages }));
}

/** The role that opens each target's measured window (the others may only time a warm-up of their own). */
const windowRole = (name: string): string =>
  name.startsWith("runtime/") || name.startsWith("baseline/messageport-")
    ? "process"
    : name === "peers/libp2p-throughput"
      ? "listener"
      : name.startsWith("baseline/") || name === "scale/tls-streams" || name === "scale/raw-records"
        ? "sink"
        : "responder";

/** The scale/ family streams 1 KiB messages whatever the size parameter says; the others the size given (64 B here). */
const sizeOf = (name: string): number => (name.startsWith("scale/") ? 1024 : 64);

describe("check/warm-* reaches the window of every target", () => {
  for (const name of WARM_CHECKED) {
    it(`${name}: twice the warm-up time and count at warmScale 2`, async () => {
      const once = await warmUpsOf(name, 1);
      const twice = await warmUpsOf(name, 2);
      expect(twice.map((x) => x.role)).toEqual(once.map((x) => x.role));
      const at1 = once.find((x) => x.role === windowRole(name));
      const at2 = twice.find((x) => x.role === windowRole(name));
      expect(at1, `the ${windowRole(name)} role, which opens the window`).toBeDefined();
      expect(at1!.warmupMs).toBeGreaterThanOrEqual(1000); // the steady warm-up of a full run
      expect(at1!.warmMessages).toBe(warmMessagesFor(sizeOf(name))); // and its warm count
      expect(at2).toEqual({ ...at1, warmupMs: 2 * Number(at1!.warmupMs), warmMessages: 2 * Number(at1!.warmMessages) });
      // Any other role that times a warm-up of its own (an initiator's busy share) doubles it too.
      for (const [i, w] of once.entries()) {
        expect(twice[i]!.warmupMs).toBe(2 * Number(w.warmupMs));
        if (w.warmMessages !== undefined) expect(twice[i]!.warmMessages).toBe(2 * Number(w.warmMessages));
      }
    });
  }
});
