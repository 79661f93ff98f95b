import type { Logger } from "@hopwire/runtime";

/**
 * Calls a user's `onEvent` callback (RemoteRelayOptions, RelayServiceOptions) with `event`.
 * What it throws, or what an async callback's promise rejects with, is logged at warn on
 * `log` and otherwise ignored: a callback for logs must not stop a RemoteRelay's keep-alive
 * loop or leave a registrant unanswered, nor end the process as an unhandled rejection.
 * The line names who called and the event's kind, never the event's fields (no keys or
 * payloads are in them, but they are the user's to log).
 */
export function reportEvent<E extends { kind: string }>(onEvent: ((event: E) => void) | undefined, event: E, log: Logger, who: string): void {
  if (onEvent === undefined) return;
  const warn = (error: unknown): void => {
    try {
      log.warn(`${who}: the onEvent callback threw on a "${event.kind}" event (ignored)`, error instanceof Error ? error : `a thrown ${typeof error}`);
    } catch {
      // A logger that throws (NodeOptions.logger is the user's too) must not undo the point of this.
    }
  };
  try {
    const result: unknown = onEvent(event);
    // Typed to return nothing, but an async callback returns a promise that may reject.
    if (result !== undefined) Promise.resolve(result).catch(warn);
  } catch (error) {
    warn(error);
  }
}
