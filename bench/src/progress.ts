// Progress on stderr (stdout keeps the table clean for piping): a line when a group of
// cases starts, a line when each case ends, and on a terminal a live repetition counter,
// so a long run never looks frozen.
import { formatNumber, formatParams } from "./format.js";
import type { Case } from "./selection.js";

const label = (c: Case): string => `${c.scenario.name} (${formatParams(c.params)})`;

/** Lines of a failure's error shown under its line (the results file has all of it): a role's error or stderr tail. */
const ERROR_LINES = 12;

/** An error's lines after its first, stack frames left out, indented, at most ERROR_LINES. */
function errorDetail(rest: string[]): string[] {
  const lines = rest.filter((l) => !/^\s+at /.test(l) && l.trim() !== "");
  const shown = lines.slice(0, ERROR_LINES).map((l) => `    ${l}`);
  return lines.length > shown.length ? [...shown, `    … ${lines.length - shown.length} more lines in the results file`] : shown;
}

export class Progress {
  private readonly tty: boolean;
  private finished = 0;
  private live = false;

  constructor(
    private readonly total: number,
    private readonly out: NodeJS.WriteStream = process.stderr,
  ) {
    this.tty = out.isTTY === true;
  }

  start(group: readonly Case[], reps: number): void {
    const what = group.length === 1 ? label(group[0]!) : `${group.map(label).join(", ")} — interleaved`;
    this.line(`▶ ${what}, ${reps} reps`);
  }

  rep(c: Case, rep: number, reps: number): void {
    if (!this.tty) return;
    this.out.write(`\r\x1b[K  rep ${rep + 1}/${reps} ${label(c)}`);
    this.live = true;
  }

  finish(c: Case, headline: { value: number; unit: string } | undefined, seconds: number): void {
    const figure = headline ? `${formatNumber(headline.value)} ${headline.unit}` : "";
    this.line(`✓ [${++this.finished}/${this.total}] ${label(c)}  ${figure}  (${seconds.toFixed(1)} s)`);
  }

  skip(c: Case, reason: string): void {
    this.line(`- [${++this.finished}/${this.total}] ${label(c)}  skipped: ${reason}`);
  }

  fail(c: Case, error: string): void {
    const [first, ...rest] = error.trimEnd().split("\n");
    this.line([`✗ [${++this.finished}/${this.total}] ${label(c)}  failed: ${first}`, ...errorDetail(rest)].join("\n"));
  }

  private line(text: string): void {
    this.out.write(this.live ? `\r\x1b[K${text}\n` : `${text}\n`);
    this.live = false;
  }
}
