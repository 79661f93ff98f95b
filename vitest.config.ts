import { defineConfig } from "vitest/config";
import { LongestFirst } from "./test/support/sequencer.js";

// Tests import packages through their compiled dist (npm test builds first), so that
// worker_threads load the same JavaScript the tests exercise.
export default defineConfig({
  // Inside the test forks every @hopwire package is its tsc output (package.json condition
  // "hopwire-unbundled"), never its bundle: tests import internal dist files directly
  // (e.g. ../dist/errors.js), and a class loaded from both layouts would exist twice
  // (instanceof would fail). Vite resolves the test files' bare imports with these
  // conditions (tests run in its "ssr" environment; the others are vite's defaults for it,
  // which a list given here replaces); Node resolves the imports inside dist with `execArgv` below.
  ssr: { resolve: { conditions: ["hopwire-unbundled", "module", "node", "development|production"] } },
  test: {
    // Node's own resolution in the forks, and in the worker threads the runtime starts
    // (they inherit --conditions). Child processes a test spawns get no such flag: they
    // load the bundles, as a program does.
    execArgv: ["--conditions=hopwire-unbundled"],
    include: ["packages/*/test/**/*.test.ts", "test/**/*.test.ts", "examples/test/**/*.test.ts", "bench/test/**/*.test.ts"],
    // Generous: a test waits for what it proves, and the machine may be loaded far beyond
    // its cores; a test's own deadlines (configured short in the code under test) decide.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    // Each fork runs file after file (vitest's default starts a process per
    // file: ~0.5 s of CPU each, ~40 s over the suite). Files share what a fork has loaded,
    // so a test imports each package one way only: the compiled dist (a second copy from
    // src would register its error classes over dist's, and instanceof would fail elsewhere).
    isolate: false,
    // Every child process a test started ends with the test, and each file must close the
    // sockets and servers it opened.
    setupFiles: ["test/support/end-children.ts", "test/support/no-leaks.ts"],
    // Most files wait on sockets, timers and child processes rather than compute (the suite
    // averaged ~1.3 busy cores with two forks): six files at a time on 2 cores overlap those
    // waits, and keep both cores busy when other work competes for them (vitest's default
    // would be one, cores - 1). The first files (test/support/sequencer.ts) wait on child
    // processes for 15-35 s each; with four forks only one was left computing meanwhile.
    // Beside two busy loops, back to back on the shared machine: 77-82 s wall with six, 86 s
    // with four (and 70 s against 87 s in an earlier pair); each fork costs ~0.85 s of CPU to start.
    maxWorkers: 6,
    // The longest files first (test/support/sequencer.ts), so that the others overlap them.
    sequence: { sequencer: LongestFirst },
    // What tests and the workers they start print (e.g. the examples' Hop logging every
    // message) is shown for failed tests only.
    silent: "passed-only",
    // Nodes under test (and the child processes they start, which inherit it) write no
    // stderr warnings for the drops tests provoke on purpose; warnings.test.ts turns them on.
    // NODE_EXTRA_CA_CERTS empty: Node 20 parses that certificate bundle at every process start
    // (~50 ms of CPU for a 144-certificate file on the 2-core machine, where the environment
    // sets it), and the suite starts ~150 processes; nothing a test starts trusts a certificate
    // authority (every connection is to loopback, and the bench's TLS baselines bring their own).
    env: { HOPWIRE_WARNINGS: "off", NODE_EXTRA_CA_CERTS: "" },
    // vitest's main process transforms the test files (TypeScript) for the forks: ~1.3 s of
    // its ~3 s of CPU per run. Kept on disk (node_modules/.experimental-vitest-cache, keyed
    // by each file's content and the config), a run after the first transforms only what
    // changed: measured 2.9-3.6 s -> 1.4-1.6 s for vitest's main process over the suite.
    experimental: { fsModuleCache: true },
    server: {
      deps: {
        // The compiled packages are plain ESM: Node loads them itself, as worker threads and
        // child processes do. Through vitest's module runner (the default for files outside
        // node_modules, which workspace links resolve to) each test file paid ~0.8 s of CPU
        // transforming them again.
        external: [/\/(packages\/[^/]+|bench|examples)\/dist\//],
      },
    },
  },
});
