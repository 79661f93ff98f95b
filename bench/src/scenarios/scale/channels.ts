// scale/channels: many secure channels through one responder node, over one TCP
// connection, against the same sink over plain Hopwire TCP (no channel).
import { registerScenario, type Measurement, type Metric, type RunParams } from "../../scenario.js";
import { withChildren } from "../../proc/spawn.js";
import { throughputMetrics } from "../../metrics.js";
import type { ScaleResponderReady, ScaleResponderResult } from "../../roles/scale-responder.js";
import type { ScaleInitiatorReady, ScaleInitiatorResult } from "../../roles/scale-initiator.js";
import { SCALE_SIZE } from "../../roles/scale-common.js";
import type { ScaleTlsSinkParams, ScaleTlsSinkReady } from "../../roles/scale-tls-sink.js";
import type { ScaleTlsSenderParams } from "../../roles/scale-tls-sender.js";
import { scaleTimeoutMs, scaleWindow } from "./scale-window.js";
import { sinkAndSender } from "./sink-and-sender.js";
import { oneWayWindowNote } from "../tcp/hopwire-topology.js";

const role = (name: string): URL => new URL(`../../roles/${name}.js`, import.meta.url);

/** Handshakes in flight while the initiator opens its channels (setup, not measured). */
const OPEN_CONCURRENCY = 100;

/** Per-channel memory figures, KiB. Named rss:* so they sit with the peak RSS of the processes and are never paired. */
function perChannel(r: ScaleResponderResult, count: number): Metric[] {
  const kib = (bytes: number): number => bytes / count / 1024;
  const out: Metric[] = [{ name: "rss:responder/ch peak", unit: "KiB", value: kib(r.rssPeakBytes - r.rssZeroBytes), higherIsBetter: false }];
  if (r.rssIdleBytes !== undefined) {
    out.push({ name: "rss:responder/ch idle", unit: "KiB", value: kib(r.rssIdleBytes - r.rssZeroBytes), higherIsBetter: false });
    // Not per channel: opening them grew V8's young generation once (see the description).
    const youngGrowth = Math.max(0, (r.youngIdleBytes ?? r.youngZeroBytes) - r.youngZeroBytes);
    out.push({ name: "rss:responder young gen growth", unit: "MiB", value: youngGrowth / 2 ** 20, higherIsBetter: false });
  }
  if (r.heapIdleBytes !== undefined) {
    out.push({ name: "rss:responder/ch idle, JS heap", unit: "KiB", value: kib(r.heapIdleBytes - r.heapZeroBytes), higherIsBetter: false });
  }
  return [...out, ...marginalPerChannel(r, count)];
}

/**
 * The same idle figures between the halfway and the idle reading, / the channels opened in
 * between: fixed costs are in both readings and drop out. V8's young generation growing in
 * between would not be per channel either, so its growth is taken off the RSS difference.
 */
function marginalPerChannel(r: ScaleResponderResult, count: number): Metric[] {
  const half = r.halfway;
  if (half === undefined || r.rssIdleBytes === undefined || r.heapIdleBytes === undefined || count <= half.halfCount) return [];
  const kib = (bytes: number): number => bytes / (count - half.halfCount) / 1024;
  const youngGrowth = Math.max(0, (r.youngIdleBytes ?? half.youngBytes) - half.youngBytes);
  return [
    { name: "rss:responder/ch idle, marginal", unit: "KiB", value: kib(r.rssIdleBytes - half.rssBytes - youngGrowth), higherIsBetter: false },
    { name: "rss:responder/ch idle, JS heap, marginal", unit: "KiB", value: kib(r.heapIdleBytes - half.heapBytes), higherIsBetter: false },
  ];
}

/** Counts of scale/channels and scale/tls-streams; n = 4,000 only for the channels' marginal memory (see its description). */
const COUNTS = { full: [1, 10, 100, 1000], quick: [10] };

function oneWay(p: RunParams, channels: boolean, signal: AbortSignal): Promise<Measurement> {
  const count = channels ? p.count! : 1;
  const window = scaleWindow(p);
  // Opening 1,000 channels takes a while on a loaded machine: scaleTimeoutMs allows for it.
  return withChildren(signal, scaleTimeoutMs(window, count), async (spawn) => {
    const responder = spawn<ScaleResponderReady, ScaleResponderResult>("responder", role("scale-responder"), {
      channels,
      sink: true,
      count,
      size: SCALE_SIZE,
      ...window,
    });
    const { port } = await responder.ready;
    const initiator = spawn<ScaleInitiatorReady, ScaleInitiatorResult>("initiator", role("scale-initiator"), {
      port,
      channels,
      count,
      size: SCALE_SIZE,
      concurrency: OPEN_CONCURRENCY,
    });
    const r = await responder.result;
    initiator.stop();
    const i = await initiator.result;
    const w = r.data.window!;
    return {
      metrics: [...throughputMetrics(w.messages, w.payloadBytes, w.seconds), ...(channels ? perChannel(r.data, count) : [])],
      processes: [
        { role: "initiator", maxRssBytes: i.maxRssBytes },
        { role: "responder", maxRssBytes: r.maxRssBytes },
      ],
    };
  });
}

export const plainTcpSink = registerScenario({
  name: "scale/plain-tcp",
  description:
    "Baseline of scale/channels: the same two Hopwire nodes, the same 1 KiB messages and main-thread sink, " +
    "over the one TCP connection with no secure channel (route(connection, \"sink\")); two child processes." + oneWayWindowNote(1),
  params: [],
  run: (p, signal) => oneWay(p, false, signal),
});

export const scaleChannels = registerScenario({
  name: "scale/channels",
  description:
    "n secure channels (node crypto, inline) from one initiator node to one responder node over ONE TCP connection; " +
    "1 KiB messages round-robin over all channels, the sender pausing while the connection or the channel next in turn " +
    "needs drain (as a streaming user does); the responder's main-thread " +
    "sink counts. Two child processes. Memory per channel: the responder's RSS (after a full GC) with n channels open " +
    "and no traffic yet (idle), and its peak RSS over the run (peak), each minus its own zero-channel reading, / n; the live JS heap per idle channel (same full GCs); and how much " +
    "V8's young generation grew between the two readings, in resident pages (opening channels grows it, up to 32 MiB once whatever n: a " +
    "fixed cost of a busy process that the idle RSS figure spreads over the channels). The marginal figures leave such " +
    "fixed costs out: the initiator stops opening at n/2 channels and waits while the responder reads its RSS and JS heap " +
    "(full GC, no handshake in flight); (idle reading − that one) / the channels opened in between, the RSS less any " +
    "young-generation growth in between (n ≥ 2). That halfway full GC also lets V8 shrink its young generation, so the " +
    "young gen growth reads lower than a run without it would. Past 1,024 channels the listener's per-connection limit is raised " +
    "to n (they all share the one connection). n = 4,000 is there for the marginal figures: between n/2 and n they leave out " +
    "what stops growing before 2,000 channels (the malloc heap that the handshakes' garbage raised, the connection's cache " +
    "of 1,024 envelope heads), which the n = 1,000 figures spread over 500 channels." + oneWayWindowNote(1),
  params: ["count"],
  counts: { full: [...COUNTS.full, 4000], quick: COUNTS.quick },
  baseline: "scale/plain-tcp",
  run: (p, signal) => oneWay(p, true, signal),
});

/** n TLS connections in place of n channels: the sender and sink of net/mutual-tls.ts, the same traffic as scale/channels. */
function tlsStreams(p: RunParams, signal: AbortSignal): Promise<Measurement> {
  const count = p.count!;
  const window = scaleWindow(p);
  const sink: ScaleTlsSinkParams = { size: SCALE_SIZE, ...window };
  const sender = (target: ScaleTlsSinkReady): ScaleTlsSenderParams => ({ ...target, count, size: SCALE_SIZE, concurrency: OPEN_CONCURRENCY });
  return sinkAndSender(signal, scaleTimeoutMs(window, count), "scale-tls-sink", sink, "scale-tls-sender", sender);
}

export const tlsStreamsScenario = registerScenario({
  name: "scale/tls-streams",
  description:
    "What scale/channels would be with a TLS connection per stream instead of a secure channel per stream over one " +
    "connection: n node:tls 1.3 connections (TLS_AES_256_GCM_SHA384, mutual auth with self-signed Ed25519 certificates, one " +
    "SecureContext per side), 1 KiB u32-length frames round-robin over them, ~64 KiB per turn, each connection corked for " +
    "the turn and paused on while it needs drain; the sink counts the frames of all connections in one window. Two child " +
    "processes. Beside scale/channels at the same n (both read against scale/plain-tcp): from about 64 streams up, each " +
    "message is a record of its own in both stacks." + oneWayWindowNote(1),
  params: ["count"],
  counts: COUNTS,
  baseline: "scale/plain-tcp",
  run: tlsStreams,
});
