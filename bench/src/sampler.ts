// Samples of a process over time, for the backpressure scenarios: its RSS and one counter
// (messages sent, or delivered), every `intervalMs`, stamped with the wall clock so that
// the samples of several processes line up. The timer is unref'd: sampling never keeps a
// process alive.
export type Sample = [epochMs: number, rssBytes: number, count: number];

export class Sampler {
  readonly samples: Sample[] = [];
  readonly #timer: NodeJS.Timeout;

  constructor(intervalMs: number, private readonly count: () => number) {
    this.take();
    this.#timer = setInterval(() => this.take(), intervalMs).unref();
  }

  take(): void {
    this.samples.push([Date.now(), process.memoryUsage.rss(), this.count()]);
  }

  /** Takes a last sample and stops. */
  stop(): Sample[] {
    clearInterval(this.#timer);
    this.take();
    return this.samples;
  }
}
