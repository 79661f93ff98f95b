// scale/raw-records: the floor of scale/channels. Its traffic with the least any stack can do
// once every message is a record of its own (from about 64 channels up, a turn's sends spread
// over more channels than it holds messages): node:crypto's AES-256-GCM per record, u32-length
// frames over one socket, no framework. What it reads against scale/plain-tcp is about what a
// secure channel per stream can read there on Node 20 with node:crypto (a floor of the work,
// written the plain way: each record copied into the frame writer, 'drain' awaited).
import { registerScenario, type Measurement, type RunParams } from "../../scenario.js";
import { SCALE_SIZE } from "../../roles/scale-common.js";
import type { ScaleRawSinkParams, ScaleRawSinkReady } from "../../roles/scale-raw-sink.js";
import type { ScaleRawSenderParams } from "../../roles/scale-raw-sender.js";
import { scaleTimeoutMs, scaleWindow } from "./scale-window.js";
import { sinkAndSender } from "./sink-and-sender.js";
import { oneWayWindowNote } from "../tcp/hopwire-topology.js";

function rawRecords(p: RunParams, signal: AbortSignal): Promise<Measurement> {
  const count = p.count!;
  const window = scaleWindow(p);
  const sink: ScaleRawSinkParams = { count, size: SCALE_SIZE, ...window };
  const sender = ({ port, keys }: ScaleRawSinkReady): ScaleRawSenderParams => ({ port, keys, size: SCALE_SIZE });
  return sinkAndSender(signal, scaleTimeoutMs(window, 0), "scale-raw-sink", sink, "scale-raw-sender", sender);
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
