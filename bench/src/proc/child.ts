// Child side of a bench process: `node script.js '<params json>'`. A script calls
// runBenchChild(main) once; main gets its params, announces readiness with io.ready(),
// and returns its result. Peak RSS is read here, inside the child, after main finishes,
// so it covers everything the process did.
import type { ChildMessage, ParentMessage } from "./protocol.js";
import { startProfileIfAsked } from "./profile.js";
import { InjectedFailure, injectedFailureFor } from "./injected-failure.js";

export interface ChildIo<Ready> {
  /** Tells the parent this process is set up; `data` (e.g. a port) is handed to peers. */
  ready(data: Ready): void;
  /** Aborted when the parent asks this process to stop (a server whose client is done, or an abort). */
  stop: AbortSignal;
}

export function runBenchChild<P, Ready, Result>(main: (params: P, io: ChildIo<Ready>) => Promise<Result>): void {
  if (typeof process.send !== "function") {
    throw new Error("a bench child must be spawned by the harness (spawnBenchChild) with an IPC channel");
  }
  const send = (message: ChildMessage): Promise<void> =>
    new Promise((resolve) => process.send!(message, undefined, {}, () => resolve()));
  const stopper = new AbortController();
  process.on("message", (message: ParentMessage) => {
    if (message?.type === "stop") stopper.abort();
  });
  // An orphaned child (the harness died or was killed) must not keep a core busy.
  process.on("disconnect", () => process.exit(2));

  const params = JSON.parse(process.argv[2] ?? "{}") as P;
  const profile = startProfileIfAsked();
  run(main, params, { ready: (data) => void send({ type: "ready", data }), stop: stopper.signal })
    .then(async (data) => {
      // Written before the result: the harness may kill the child as soon as it has it.
      await profile?.stop();
      const maxRssBytes = process.resourceUsage().maxRSS * 1024; // maxRSS is in KiB
      await send({ type: "result", data, maxRssBytes });
    })
    .catch(async (err: unknown) => {
      const e = err instanceof Error ? err : new Error(String(err));
      await send({ type: "error", message: e.message, stack: e.stack });
      process.exitCode = 1;
    })
    .finally(() => {
      // Leftover handles (a socket still closing) must not keep the child alive.
      process.disconnect();
      setImmediate(() => process.exit());
    });
}

/** `main`, or the failure HOPWIRE_BENCH_FAIL asks of this role (a test hook, injected-failure.ts). */
async function run<P, Ready, Result>(main: (params: P, io: ChildIo<Ready>) => Promise<Result>, params: P, io: ChildIo<Ready>): Promise<Result> {
  const role = process.env.HOPWIRE_BENCH_ROLE ?? "child";
  const when = injectedFailureFor(role);
  if (when === undefined) return main(params, io);
  if (when === "exit") {
    process.stderr.write(`${role}: injected crash (HOPWIRE_BENCH_FAIL)\n`); // synchronous on a pipe
    process.exit(3);
  }
  if (when === "start") throw new InjectedFailure(role, when);
  // "ready": main runs until it has told the parent it is ready (a role that never does just runs).
  return new Promise<Result>((resolve, reject) => {
    const failOnReady = (data: Ready): void => {
      io.ready(data);
      reject(new InjectedFailure(role, when));
    };
    main(params, { ...io, ready: failOnReady }).then(resolve, reject);
  });
}
