// scale/raw-records: the floor of scale/channels. Its traffic with the least any stack can do
// once every message is a record of its own (from about 64 channels up, a turn's sends spread
// over more channels than it holds messages): node:crypto's AES-256-GCM per record, u32-length
// frames over one socket, no framework. What it reads against scale/plain-tcp is about what a
// secure channel per stream can read there on Node 20 with node:crypto (a floor of the work,
// written the plain way: each record copied into the frame writer, 'drain' awaited).
import { registerScenario, type Measurement, type RunParams } from "../../scenario.js";
import { withChildren } from "../../proc/spawn.js";
import { throughputMetrics } from "../../metrics.js";
import { SCALE_SIZE } from "../../roles/scale-common.js";
import type { ScaleRawSinkReady, ScaleRawSinkResult } from "../../roles/scale-raw-sink.js";
import type { ScaleRawSenderResult } from "../../roles/scale-raw-sender.js";
import { scaleTimeoutMs, scaleWindow } from "./scale-window.js";
import { oneWayWindowNote } from "../tcp/hopwire-topology.js";

const role = (name: string): URL => new URL(`../../roles/${name}.js`, import.meta.url);

function rawRecords(p: RunParams, signal: AbortSignal): Promise<Measurement> {
  const count = p.count!;
  const window = scaleWindow(p);
  return withChildren(signal, scaleTimeoutMs(window, 0), async (spawn) => {
    const sink = spawn<ScaleRawSinkReady, ScaleRawSinkResult>("sink", role("scale-raw-sink"), { count, size: SCALE_SIZE, ...window });
    const { port, keys } = await sink.ready;
    const sender = spawn<null, ScaleRawSenderResult>("sender", role("scale-raw-sender"), { port, keys, size: SCALE_SIZE });
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

export const rawRecordsScenario = registerScenario({
  name: "scale/raw-records",
  description:
    "The floor of scale/channels where each of its messages is a record of its own (n ≥ 100): the same 1 KiB messages " +
    "round-robin over n channels, ~64 KiB per turn, over ONE plain TCP connection, each sealed as an AES-256-GCM record " +
    "with node:crypto under its channel's key ([u32 channel][u64 nonce][ciphertext][tag], a cipher made per record as " +
    "node:crypto requires) and written as a u32-length frame (the TCP baselines' writer), pausing on 'drain'; the sink " +
    "opens each with its channel's key, checks that each channel's nonces increase, and counts. No handshake, routing, " +
    "credit or framework: what a record per message costs on Node 20, read against scale/plain-tcp as scale/channels is. " +
    "Two child processes." + oneWayWindowNote(1),
  params: ["count"],
  counts: { full: [100, 1000], quick: [100] },
  baseline: "scale/plain-tcp",
  run: rawRecords,
});
