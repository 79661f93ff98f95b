// Progress on stderr (stdout keeps the table clean for piping): a line when a case starts
// and when it ends, and on a terminal a live repetition counter, so a long run never looks
// frozen.
import { formatNumber, formatParams } from "./format.js";
import type { Case } from "./selection.js";

export class Progress {
  private readonly tty: boolean;
  private label = "";

  constructor(
    private readonly total: number,
    private readonly out: NodeJS.WriteStream = process.stderr,
  ) {
    this.tty = out.isTTY === true;
  }

  start(index: number, c: Case, reps: number): void {
    this.label = `[${index + 1}/${this.total}] ${c.scenario.name} (${formatParams(c.params)})`;
    if (this.tty) this.out.write(`▶ ${this.label}  rep 1/${reps}`);
    else this.out.write(`▶ ${this.label} …\n`);
  }

  rep(done: number, reps: number): void {
    if (this.tty && done > 0 && done < reps) this.out.write(`\r\x1b[K▶ ${this.label}  rep ${done + 1}/${reps}`);
  }

  finish(headline: { value: number; unit: string } | undefined, seconds: number): void {
    const figure = headline ? `${formatNumber(headline.value)} ${headline.unit}` : "";
    this.end(`✓ ${this.label}  ${figure}  (${seconds.toFixed(1)} s)`);
  }

  skip(reason: string): void {
    this.end(`- ${this.label}  skipped: ${reason}`);
  }

  fail(error: string): void {
    this.end(`✗ ${this.label}  failed: ${error.split("\n")[0]}`);
  }

  private end(line: string): void {
    this.out.write(this.tty ? `\r\x1b[K${line}\n` : `${line}\n`);
  }
}
