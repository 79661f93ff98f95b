// Node flags for every process the bench starts, Hopwire's and the baselines' alike: how a
// deployment would run them (e.g. the `hopwire` CLI's node processes run with
// --initial-old-space-size=64, docs/cli.md "The node's own process"). Off by default: the
// committed figures are V8's defaults. The run's machine record names them.

/** Space-separated Node flags given to every child process of a run. */
export const BENCH_NODE_FLAGS_ENV = "HOPWIRE_BENCH_NODE_FLAGS";

/** The flags HOPWIRE_BENCH_NODE_FLAGS gives (none when unset or empty). */
export function benchNodeFlags(env: NodeJS.ProcessEnv = process.env): string[] {
  return (env[BENCH_NODE_FLAGS_ENV] ?? "").split(/\s+/).filter((flag) => flag !== "");
}
