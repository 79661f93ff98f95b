// One repetition of the scale/ baselines that are two plain processes (scale/tls-streams,
// scale/raw-records): a sink that counts one window (MessageWindow) and a sender that runs
// until the harness stops it once the sink has its figures.
import type { Measurement } from "../../scenario.js";
import { withChildren } from "../../proc/spawn.js";
import { throughputMetrics } from "../../metrics.js";
import type { WindowCount } from "../../roles/scale-common.js";

const role = (name: string): URL => new URL(`../../roles/${name}.js`, import.meta.url);

/** The sink `sinkRole` with `sinkParams`, then the sender `senderRole` with what `senderParams` makes of the sink's ready data. */
export function sinkAndSender<Ready>(
  signal: AbortSignal,
  timeoutMs: number,
  sinkRole: string,
  sinkParams: object,
  senderRole: string,
  senderParams: (ready: Ready) => object,
): Promise<Measurement> {
  return withChildren(signal, timeoutMs, async (spawn) => {
    const sink = spawn<Ready, { window: WindowCount }>("sink", role(sinkRole), sinkParams);
    const sender = spawn<unknown, unknown>("sender", role(senderRole), senderParams(await sink.ready));
    const r = await sink.result;
    sender.stop();
    const s = await sender.result;
    const w = r.data.window;
    return {
      metrics: throughputMetrics(w.messages, w.payloadBytes, w.seconds),
      processes: [
        { role: "sender", maxRssBytes: s.maxRssBytes },
        { role: "sink", maxRssBytes: r.maxRssBytes },
      ],
    };
  });
}
