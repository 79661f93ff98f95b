import type { NodeConfig } from "../config/schema.js";
import { startNodeFromConfig, type LineLog } from "./start-node.js";

/** How long a node may take to stop on SIGINT/SIGTERM before the process exits anyway (ms). */
export const STOP_TIMEOUT_MS = 10_000;

/**
 * Runs one node in the foreground until SIGINT or SIGTERM, then stops it and exits 0. A
 * second signal while stopping, or a stop slower than STOP_TIMEOUT_MS, exits 1 at once.
 */
export async function runNode(config: NodeConfig, options: { home: string; source: string; log: LineLog }): Promise<void> {
  const { log } = options;
  const running = await startNodeFromConfig(config, options);
  log("ready");
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      log(`${signal} again: exiting without waiting`);
      process.exit(1);
    }
    stopping = true;
    log(`stopping (${signal})`);
    setTimeout(() => {
      log(`did not stop within ${STOP_TIMEOUT_MS} ms: exiting`);
      process.exit(1);
    }, STOP_TIMEOUT_MS).unref();
    running.stop().then(
      () => {
        log("stopped");
        process.exit(0);
      },
      (error: unknown) => {
        log(`stop failed: ${(error as Error).message}`);
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
}
