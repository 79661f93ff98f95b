/** Where a node's warnings go: a function that takes one line (no trailing newline). */
export type WarningSink = (line: string) => void;

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

  /** Warns about `cause` unless it warned within the interval; `text` is built only when written. */
  warn(cause: string, text: () => string): void {
    const now = Date.now();
    let key = cause;
    let state = this.#causes.get(key);
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
    const more = suppressed > 0 ? ` (${suppressed} more like this in the last ${Math.round((now - state!.last) / 1000)} s)` : "";
    const body = key === OTHER ? `${text()} [and other causes: too many distinct ones to list]` : text();
    try {
      this.#sink(`${this.#prefix} ${body}${more}`);
    } catch {
      // A broken sink must not break routing.
    }
  }
}
