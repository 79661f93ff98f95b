import type { RelayServiceEvent } from "@hopwire/relay";
import { RateLimitedLog } from "./rate-limited-log.js";
import type { LineLog } from "./start-node.js";

/** How often a relay node logs again about one kind of registration event (ms). */
export const RELAY_SERVICE_LOG_INTERVAL_MS = 10_000;

/**
 * A relay node's lines about its relay service: registrations, refusals, removals. Each is
 * rate-limited, as any peer can cause them: a refusal per code (one untrusted identity asking
 * in a loop wrote ~76,000 lines a second), a registration or removal per name. The first of a
 * cause is logged at once, the rest counted in one line per interval.
 */
export function relayServiceLog(log: LineLog, intervalMs = RELAY_SERVICE_LOG_INTERVAL_MS): { onEvent: (e: RelayServiceEvent) => void; stop: () => void } {
  const lines = new RateLimitedLog(log, intervalMs);
  const onEvent = (e: RelayServiceEvent): void => {
    if (e.kind === "registered") {
      lines.report(
        `registered ${e.name}`,
        () => `relay service: ${e.name} registered by ${e.identifier}${e.replaced ? " (replacing the previous registration)" : ""}`,
        // A takeover matters to an operator: said even when it falls into the summary.
        (count, seconds) =>
          `relay service: ${e.name} registered ${count} more time${count === 1 ? "" : "s"} in ${seconds} s, last by ${e.identifier}${e.replaced ? ", the last replacing the previous registration" : ""}`,
      );
    } else if (e.kind === "refused") {
      lines.report(
        `refused ${e.code}`,
        () => `relay service: refused ${e.name} for ${e.identifier ?? "an unauthenticated sender"} (${e.code})`,
        (count, seconds) => `relay service: refused ${count} more registration${count === 1 ? "" : "s"} (${e.code}) in ${seconds} s, the last ${e.name} for ${e.identifier ?? "an unauthenticated sender"}`,
      );
    } else {
      lines.report(
        `removed ${e.name}`,
        () => `relay service: ${e.name} removed (${e.reason})`,
        (count, seconds) => `relay service: ${e.name} removed ${count} more time${count === 1 ? "" : "s"} in ${seconds} s (last: ${e.reason})`,
      );
    }
  };
  return { onEvent, stop: () => lines.stop() };
}
