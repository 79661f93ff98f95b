import type { NodeConfig } from "../config/schema.js";
import { releaseStartUpSignals, SAME_SIGNAL_MS, underSupervisor, whenSignalledAgain } from "../relaunch.js";
import { startNodeFromConfig, type LineLog, type RunningNode } from "./start-node.js";

/** How long a node may take to stop on SIGINT/SIGTERM before the process exits anyway (ms). */
export const STOP_TIMEOUT_MS = 10_000;

/** The period of the timer that keeps a running node's process alive (it does nothing). */
const KEEP_ALIVE_MS = 2 ** 30;

/**
 * Runs one node in the foreground until SIGINT or SIGTERM, then stops it and exits 0,
 * whatever the configuration holds open (an empty one runs an idle node until a signal). A
 * second signal while stopping, or a stop slower than STOP_TIMEOUT_MS, exits 1 at once (under
 * the CLI's supervisor the same signal again within SAME_SIGNAL_MS is the first one twice).
 * The signal handlers are in place before the node starts, so a signal sent as soon as
 * `ready` is printed is handled; one during start-up (e.g. while a relay registration waits
 * for its relay node) exits 0 at once.
 */
export async function runNode(config: NodeConfig, options: { home: string; source: string; log: LineLog; warn?: LineLog }): Promise<void> {
  const { log } = options;
  // Why the node stops on its own goes to stderr, as start-up errors do: a supervisor that
  // keeps only stderr still learns why it exited 1 (a user trial found it empty).
  const failed: LineLog = options.warn ?? log;
  let running: RunningNode | undefined;
  /** A stop began (a signal, or a failure the node cannot recover from): a signal now exits at once. */
  let stopping = false;

  const stop = (why: string, exitCode: number): void => {
    stopping = true;
    log(`stopping (${why})`);
    setTimeout(() => {
      failed(`did not stop within ${STOP_TIMEOUT_MS} ms: exiting`);
      process.exit(1);
    }, STOP_TIMEOUT_MS).unref();
    running!.stop().then(
      () => {
        log("stopped");
        process.exit(exitCode);
      },
      (error: unknown) => {
        failed(`stop failed: ${(error as Error).message}`);
        process.exit(1);
      },
    );
  };
  /** The signal that began the stop, and when. */
  let first: { signal: NodeJS.Signals; at: number } | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      // Under the CLI's supervisor one signal may come twice (relaunch.ts, underSupervisor): once.
      if (underSupervisor() && first?.signal === signal && Date.now() - first.at < SAME_SIGNAL_MS) return;
      log(`${signal} again: exiting without waiting`);
      process.exit(1);
    }
    first = { signal, at: Date.now() };
    if (running !== undefined) return stop(signal, 0);
    stopping = true;
    // Still starting (e.g. waiting for a relay node): nothing is established yet, so leave now;
    // the system closes the sockets opened so far.
    log(`stopping (${signal}) during start-up`);
    log("stopped");
    process.exit(0);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  releaseStartUpSignals();
  // The supervisor's second signal is a second one, within SAME_SIGNAL_MS too (Ctrl-C twice).
  whenSignalledAgain((signal) => {
    log(`${signal} again: exiting without waiting`);
    process.exit(1);
  });
  // The node runs until a signal even when nothing it started holds the process open (a
  // configuration with only a secure channel listener, or an empty one, opens no socket):
  // without this timer such a node printed "ready" and the process ended at once.
  const keepAlive = setInterval(() => {}, KEEP_ALIVE_MS);
  try {
    running = await startNodeFromConfig(config, {
      ...options,
      fatal: (line) => {
        failed(line);
        if (running !== undefined && !stopping) stop("failure", 1);
      },
    });
  } catch (error) {
    clearInterval(keepAlive);
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    whenSignalledAgain(undefined);
    throw error;
  }
  log("ready");
}
