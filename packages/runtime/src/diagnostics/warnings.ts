import type { DeniedEvent, DroppedEvent, HandlerErrorEvent, RefusedEvent, WorkerFailedEvent } from "./node-events.js";
import { escapeControl } from "../util/log-text.js";

/**
 * Where a node's warnings go: a function that takes each line (no trailing newline) and,
 * as its second argument, what the line says in fields. A one-argument function is a
 * sink too: the line alone is all most callers need.
 */
export type WarningSink = (line: string, warning: NodeWarning) => void;

/**
 * A warning line cut into its parts: the line is `${prefix} ${body}${suffix}`. A caller
 * that words the cause its own way replaces `body` and keeps `suffix`, so what the rate
 * limit held back is still said.
 */
export interface WarningParts {
  /** `"hopwire warning:"`, or `"hopwire [name] warning:"` for a node given a name. */
  readonly prefix: string;
  /** The runtime's sentences about the cause and its fix. */
  readonly body: string;
  /**
   * What the rate limit adds, with its leading space, or `""`: `" [and other causes: …]"`
   * when `sharedLimit`, then `" (N more like this in the last S s)"` when `suppressed > 0`.
   */
  readonly suffix: string;
}

/** What every warning says besides its cause: the rate limit's count and the line's parts. */
export interface WarningLine {
  /**
   * Occurrences of this cause that were counted but not written since its last line (0 for
   * the first): the runtime writes one line per cause per WARNING_INTERVAL_MS.
   */
  readonly suppressed: number;
  /**
   * Whether this cause shares one rate limit with every other cause past MAX_WARNING_CAUSES:
   * `suppressed` then counts occurrences of any of them, not only this one.
   */
  readonly sharedLimit: boolean;
  /** The line this warning was written as, in parts. */
  readonly parts: WarningParts;
}

/** A `"denied"` warning: the fields of its DeniedEvent, and the line's. */
export interface DeniedWarning extends DeniedEvent, WarningLine {
  /** Flow controls denied a message from the network (see DeniedEvent). */
  readonly kind: "denied";
}

/** A `"dropped"` warning: the fields of its DroppedEvent, and the line's. */
export interface DroppedWarning extends DroppedEvent, WarningLine {
  /** A message whose sender cannot be told had no next hop (see DroppedEvent). */
  readonly kind: "dropped";
  /**
   * Whether `address` is one the runtime generated (`Address.random`: 32 hex characters),
   * such as a request's reply address: nobody would start a worker under it, so a drop there
   * is most likely a reply that came after its request timed out or was aborted.
   */
  readonly generated: boolean;
}

/** A `"handler-error"` warning: the fields of its HandlerErrorEvent, and the line's. */
export interface HandlerErrorWarning extends HandlerErrorEvent, WarningLine {
  /** A worker's own code threw (see HandlerErrorEvent). */
  readonly kind: "handler-error";
}

/** A `"worker-failed"` warning: the fields of its WorkerFailedEvent, and the line's. */
export interface WorkerFailedWarning extends WorkerFailedEvent, WarningLine {
  /** A worker's thread ended while the node ran (see WorkerFailedEvent). */
  readonly kind: "worker-failed";
}

/** A `"refused"` warning: the fields of its RefusedEvent, and the line's. */
export interface RefusedWarning extends RefusedEvent, WarningLine {
  /** A listener refused a peer (see RefusedEvent). */
  readonly kind: "refused";
}

/**
 * An `"inbox-backlog"` warning (no event of its own): the node's own inbox holds `messages`
 * that no `receive()` took (replies to the node's own sends stay there until it does).
 */
export interface InboxBacklogWarning extends WarningLine {
  readonly kind: "inbox-backlog";
  /** The inbox's address: the node's ("app"). */
  readonly address: string;
  /** How many messages it held when the line was written. */
  readonly messages: number;
  /** Messages it dropped so far at its bounds (INBOX_MAX_MESSAGES, INBOX_MAX_BYTES); 0 while under them. */
  readonly dropped: number;
}

/**
 * A `"send-queue-budget"` warning (no event of its own): a node's secure channels hold their
 * whole send-queue budget (MailboxBudget), so each of them holding more than its allowance
 * waits: peers may be withholding credit, or the node streams to more slow peers than the
 * budget allows for.
 */
export interface SendQueueBudgetWarning extends WarningLine {
  readonly kind: "send-queue-budget";
  /** The budget, in bytes. */
  readonly maxBytes: number;
  /** Channels holding anything in their send queues when the line was written. */
  readonly channels: number;
}

/**
 * A `"shutdown-timeout"` warning (no event of its own): a worker's handler in progress or its
 * `shutdown` outlasted NodeOptions.shutdownTimeout while it stopped, and the node gave up on it
 * (`outcome` says how: its thread terminated, its pool slot left to the pool's end, or, on the
 * main thread, left pending). Written while the node stops too, when it happens most.
 */
export interface ShutdownTimeoutWarning extends WarningLine {
  readonly kind: "shutdown-timeout";
  /** The worker's (primary) address. */
  readonly worker: string;
  /** NodeOptions.shutdownTimeout, ms. */
  readonly timeoutMs: number;
  /** What the node did about it, in words. */
  readonly outcome: string;
}

/**
 * What a warning line says, in fields: the second argument of a WarningSink. `kind` tells
 * which; the other fields are those of the node event of that name, so, like events, a
 * warning carries addresses, flow control ids and errors, never a payload or a key.
 */
export type NodeWarning =
  | DeniedWarning
  | DroppedWarning
  | HandlerErrorWarning
  | WorkerFailedWarning
  | RefusedWarning
  | InboxBacklogWarning
  | SendQueueBudgetWarning
  | ShutdownTimeoutWarning;

/** A warning's cause as the node describes it (internal): a NodeWarning before the rate limit adds its part. */
export type WarningCause = Described<NodeWarning>;
// Distributes over the union, so that each kind keeps its own fields.
type Described<W> = W extends NodeWarning ? Omit<W, keyof WarningLine> & { readonly body: string } : never;

/** How often the same cause may warn again (ms); occurrences in between are counted. */
export const WARNING_INTERVAL_MS = 60_000;
/** Distinct causes tracked at once; past it, new causes share one rate limit. */
export const MAX_WARNING_CAUSES = 256;

const OTHER = "\u0000other";

const stderrSink: WarningSink = (line) => {
  process.stderr.write(line + "\n");
};

/**
 * One warning per cause per interval. The first occurrence of a cause writes a line at once;
 * later ones within WARNING_INTERVAL_MS are only counted, and the next line after it says how
 * many there were. The table of causes is bounded, so a peer sending to many addresses can
 * neither grow memory nor flood stderr.
 */
export class RateLimitedWarnings {
  readonly #sink: WarningSink;
  readonly #prefix: string;
  readonly #causes = new Map<string, { last: number; suppressed: number }>();

  constructor(sink: WarningSink | undefined, name: string | undefined) {
    this.#sink = sink ?? stderrSink;
    this.#prefix = name ? `hopwire [${name}] warning:` : "hopwire warning:";
  }

  #sweptAt = 0;

  /**
   * Forgets causes that have not warned for an interval (at most one sweep a second): after a
   * burst of distinct causes, a later one gets a line of its own again instead of sharing one
   * with the burst for the life of the process.
   */
  #forgetQuietCauses(now: number): void {
    if (now - this.#sweptAt < 1_000) return;
    this.#sweptAt = now;
    for (const [key, state] of this.#causes) if (key !== OTHER && now - state.last >= WARNING_INTERVAL_MS) this.#causes.delete(key);
  }

  /** Warns about `cause` unless it warned within the interval; `describe` is called only when a line is written. */
  warn(cause: string, describe: () => WarningCause): void {
    const now = Date.now();
    let key = cause;
    let state = this.#causes.get(key);
    if (state === undefined && this.#causes.size >= MAX_WARNING_CAUSES) this.#forgetQuietCauses(now);
    if (state === undefined && this.#causes.size >= MAX_WARNING_CAUSES) {
      key = OTHER;
      state = this.#causes.get(key);
    }
    if (state !== undefined && now - state.last < WARNING_INTERVAL_MS) {
      state.suppressed++;
      return;
    }
    const suppressed = state?.suppressed ?? 0;
    this.#causes.set(key, { last: now, suppressed: 0 });
    const sharedLimit = key === OTHER;
    const shared = sharedLimit ? " [and other causes: too many distinct ones to list]" : "";
    const more = suppressed > 0 ? ` (${suppressed} more like this in the last ${Math.round((now - state!.last) / 1000)} s)` : "";
    const { body, ...fields } = describe();
    const parts: WarningParts = { prefix: this.#prefix, body, suffix: shared + more };
    // Spreading a union loses which member it was; `kind` came through unchanged.
    const warning = { ...fields, suppressed, sharedLimit, parts } as NodeWarning;
    try {
      // Bodies name addresses from the network: escaped, so that no peer can forge a line or drive a terminal.
      this.#sink(escapeControl(`${parts.prefix} ${parts.body}${parts.suffix}`), warning);
    } catch {
      // A broken sink must not break routing.
    }
  }
}
