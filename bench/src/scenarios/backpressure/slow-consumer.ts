// backpressure/slow-consumer: a consumer 100× slower than the path, fed by a sender that
// honours every backpressure signal the stack offers. A stack with end-to-end backpressure
// keeps both processes' memory flat and delivers at the consumer's rate; one without lets
// the receiver (or the sender) grow. Baseline: the same over plain TCP with a reader that
// pauses its socket — TCP's own flow control, the behaviour a relay stack should reproduce
// (node:tls would add crypto cost to the sender but show the same bounded shape).
import { registerScenario, type Measurement, type RunParams } from "../../scenario.js";
import { withChildren } from "../../proc/spawn.js";
import { slowConsumerFigures } from "../../backpressure.js";
import type { Sample } from "../../sampler.js";
import { SAMPLE_MS, SLOW_MS, SLOW_SIZE } from "../../roles/slow-consumer-shape.js";

const role = (name: string): URL => new URL(`../../roles/${name}.js`, import.meta.url);

/** Each repetition runs 5 × --duration (at least 2 s): memory growth needs time to show. */
const runMsFor = (p: RunParams): number => Math.max(2_000, 5 * p.durationMs);
/** Discarded at the start of each run (channel up, JIT, socket buffers filling). */
const WARM_MS = 1_000;

interface Samples {
  samples: Sample[];
  error?: string;
}

/** Spawns receiver then sender, lets them run, stops both, and turns their samples into figures. */
function slowConsumer(p: RunParams, signal: AbortSignal, receiverRole: string, senderRole: string): Promise<Measurement> {
  const runMs = runMsFor(p);
  return withChildren(signal, runMs + 30_000, async (spawn) => {
    const receiver = spawn<{ port: number }, Samples>("receiver", role(receiverRole), { sampleMs: SAMPLE_MS });
    const { port } = await receiver.ready;
    const sender = spawn<null, Samples>("sender", role(senderRole), { port, size: SLOW_SIZE, sampleMs: SAMPLE_MS });
    await sender.ready;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, runMs); // the parent's own clock; the children are the ones under load
      signal.addEventListener("abort", () => (clearTimeout(timer), reject(signal.reason)), { once: true });
    });
    sender.stop();
    const s = await sender.result;
    receiver.stop();
    const r = await receiver.result;
    if (s.data.error) throw new Error(`the sender saw an error: ${s.data.error}`);
    const f = slowConsumerFigures(r.data.samples, s.data.samples, WARM_MS);
    return {
      metrics: f.metrics,
      series: f.series,
      processes: [
        { role: "receiver", maxRssBytes: r.maxRssBytes },
        { role: "sender", maxRssBytes: s.maxRssBytes },
      ],
    };
  });
}

const FIGURES =
  `goodput = messages the consumer handled per second after a ${WARM_MS / 1e3} s warm-up (ideal: ${1000 / SLOW_MS}); ` +
  "rss growth = peak minus post-warm-up RSS; rss end = RSS at the end; queued = sent but not yet consumed. " +
  "Each repetition runs 5 × --duration (at least 2 s); RSS and delivered msg/s are charted over the last one.";

registerScenario({
  name: "baseline/slow-tcp-reader",
  description:
    `Plain node:net: a sender writing u32-length ${SLOW_SIZE} B frames ~64 KiB per write, waiting for 'drain'; a reader ` +
    `that consumes one frame per ${SLOW_MS} ms and pauses its socket beyond 64 KiB unread, so TCP pushes back. ` +
    FIGURES + " Two child processes.",
  params: [],
  run: (p, signal) => slowConsumer(p, signal, "slow-tcp-reader", "slow-tcp-sender"),
});

registerScenario({
  name: "backpressure/slow-consumer",
  description:
    `A worker on its own thread handling one ${SLOW_SIZE} B message per ${SLOW_MS} ms, behind a secure channel (node ` +
    "crypto, inline) over one TCP connection; the sender node sends ~64 KiB per turn, awaits each turn's last send and " +
    "pauses while the connection needsDrain (no application window: only the stack's own backpressure bounds memory). " +
    FIGURES + " Two child processes.",
  params: [],
  baseline: "baseline/slow-tcp-reader",
  run: (p, signal) => slowConsumer(p, signal, "slow-responder", "slow-sender"),
});
