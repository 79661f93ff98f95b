// The process topologies of the Hopwire network scenarios (tcp/ and secure-channel/):
// responder [← middle] ← initiator, each node its own child process, as in the seed. The
// shapes mirror baselines/tcp-topology.ts so that a figure and its baseline differ in the
// stack only.
import { withChildren, type ChildResult, type SpawnChild as Spawn } from "../../proc/spawn.js";
import { Rendezvous } from "../../roles/hopwire-rendezvous.js";
import { roundTripMetrics, throughputMetrics } from "../../metrics.js";
import type { Measurement, ProcessRss, RunParams } from "../../scenario.js";
import type { ResponderParams, ResponderReady, ResponderResult } from "../../roles/hopwire-responder.js";
import type { MiddleParams, MiddleReady } from "../../roles/hopwire-middle.js";
import type { HandshakeResult, InitiatorParams, InitiatorResult, SendResult } from "../../roles/hopwire-initiator.js";
import { busyMetric } from "../../busy.js";
import type { RoundTripSummary } from "../../metrics.js";
import type { SecureSpec } from "../../roles/hopwire-net.js";
import { warmCapMs, warmCountNote, warmMessagesFor } from "../../warm-count.js";

const role = (name: string): URL => new URL(`../../roles/${name}.js`, import.meta.url);

/**
 * The measured window of one repetition: `share` of the CLI's --duration and warm-up
 * (at least 50 ms of each). The suite has ~90 cases × 5 repetitions of fresh processes
 * and must stay under 10 minutes on 2 cores, so the Hopwire scenarios measure shorter
 * windows than the baselines they are compared with; rates and percentiles are per
 * second / per message, so the ratio is unaffected, only the noise per repetition grows.
 */
export function windowed(p: RunParams, share: number, o: { steady?: boolean } = {}): RunParams {
  const warmupMs = Math.max(50, p.warmupMs * share);
  const steady = o.steady === true && p.durationMs >= STEADY_MIN_DURATION_MS;
  // check/warm-* doubles the steady warm-up: its time, and so its count's cap (warm-count.ts), and its count.
  const scale = steady ? (p.warmScale ?? 1) : 1;
  return {
    ...p,
    durationMs: Math.max(50, p.durationMs * share),
    warmupMs: steady ? Math.max(warmupMs, STEADY_WARMUP_MS) * scale : warmupMs,
    // Read only by the one-way receivers (Hopwire's sink and the raw one alike).
    warmMessages: steady && p.size !== undefined ? warmMessagesFor(p.size) * scale : 0,
  };
}

/**
 * Share of --duration the runtime/* scenarios measure, and the MessagePort baselines they are
 * read against and shown beside, alike: both sides of a ratio after the same steady warm-up.
 */
export const LOCAL_ROUTING_SHARE = 0.25;

/**
 * The warm-up of the one-way throughput scenarios and their baselines in a full run. A
 * fresh Hopwire process runs its first ~0.5-1 s 5-15× slower than later (measured on
 * runtime/main->thread and secure-channel/one-hop at 16 KiB: ~3 k then 20-45 k msg/s, the
 * sending thread 100 % busy throughout, so not a window or a round trip); a 60 ms warm-up
 * put the whole measured window in that phase. Not applied to --quick runs (smoke only).
 */
export const STEADY_WARMUP_MS = 1_000;
/** --duration at or above which the steady warm-up applies (--quick is 0.15 s). */
export const STEADY_MIN_DURATION_MS = 500;

/**
 * Round trips a round-trip run makes before its measured window, on top of its warm-up time,
 * in a full run. V8 optimises by calls, not by time: on a loaded host (load 10 on 2 cores)
 * 1 s was ~1000 Hopwire round trips, the compiler threads were starved and the p50 was a
 * cold process's (~300 µs, against ~60-90 µs after 3000 round trips, probe/rtt-cpu).
 */
export const WARM_ROUND_TRIPS = 5_000;

/** WARM_ROUND_TRIPS (at most WARM_COUNT_CAP_MS past the warm-up time) where the steady warm-up applies (a full run), else none. */
export const warmRoundTripsFor = (p: RunParams): number => (p.durationMs >= STEADY_MIN_DURATION_MS ? WARM_ROUND_TRIPS : 0);

/**
 * Handshakes a handshake run completes before its window, on top of its warm-up time, in a
 * full run, on Hopwire's side and node:tls's alike: as many as round trips (WARM_ROUND_TRIPS),
 * for the same reason. Hopwire's handshake is JavaScript that V8 optimises by calls, and
 * node:tls's is C with no such ramp. CPU per handshake, initiator / responder, all threads, one
 * fresh pair per warm count (packages/secure-channel/test/perf/handshake-cpu.perf.mjs --runs=1,
 * session 10): 835 / 889 µs after 300, 672 / 668 after 1 000 (this constant's old value: its
 * window was still mid-ramp, V8's compiler threads busy), 473 / 519 after 3 000, 408 / 416
 * after 8 000. The noble provider, ~10× slower, needs fewer.
 */
export const WARM_HANDSHAKES = 5_000;

/** WARM_HANDSHAKES (a tenth with the noble provider) where the steady warm-up applies (a full run), else none. */
export const warmHandshakesFor = (p: RunParams): number =>
  p.durationMs >= STEADY_MIN_DURATION_MS ? (p.provider === "noble" ? WARM_HANDSHAKES / 10 : WARM_HANDSHAKES) : 0;

/** What a handshake scenario's description says of WARM_HANDSHAKES. */
export const warmHandshakesNote = ` In a full run at least ${WARM_HANDSHAKES} handshakes (noble: ${WARM_HANDSHAKES / 10}) precede the window.`;

/** What a round-trip scenario's description says of WARM_ROUND_TRIPS. */
export const warmNote = ` In a full run at least ${WARM_ROUND_TRIPS} round trips precede the window.`;

/** The sentence a scenario's description ends with, so the report says what was measured. */
export const windowNote = (share: number | string, steady = false): string =>
  ` Measures ${typeof share === "number" ? `${Math.round(share * 100)}%` : share} of --duration (and of the warm-up${
    steady ? `, at least ${STEADY_WARMUP_MS / 1e3} s in a full run` : ""
  }) per repetition.`;

/** windowNote for a one-way throughput scenario or baseline, whose receiver also waits for the warm count. */
export const oneWayWindowNote = (share: number | string): string => windowNote(share, true) + warmCountNote;

/** Spawning three nodes, a handshake or two, teardown: on top of the repetition's own time. */
/** A repetition's timeout: its window may open as late as the warm count's cap (warm-count.ts). */
const timeoutFor = (p: RunParams): number => warmCapMs(p.warmupMs) + p.durationMs + 20_000;

export interface HopwireTopology {
  /** A secure channel from initiator to responder (end to end, through the middle if any). */
  secure?: SecureSpec;
  /** Put the seed's middle node (built-in relay "forward_to_bob", main thread) between initiator and responder. */
  viaRelay?: boolean;
  /** One-way runs: the responder's sink on a thread of its own instead of placed "main". */
  sinkOnThread?: boolean;
  /** NodeOptions.busyPollMicros of the nodes named (default: none busy-polls). */
  busyPoll?: { micros: number; nodes: readonly ("initiator" | "middle" | "responder")[] };
}

/** `{ busyPollMicros }` for the role's params if the topology busy-polls that node, else nothing. */
function busyPollFor(t: HopwireTopology, nodeName: "initiator" | "middle" | "responder"): { busyPollMicros?: number } {
  return t.busyPoll?.nodes.includes(nodeName) ? { busyPollMicros: t.busyPoll.micros } : {};
}

/**
 * Starts the responder and (if asked) the middle at once; each publishes its port when
 * ready (see hopwire-rendezvous.ts), so the initiator, spawned right after, can start too.
 * Returns the file the initiator waits on for its port and the hops it routes through.
 */
function servers(spawn: Spawn, rv: Rendezvous, t: HopwireTopology, responderParams: ResponderParams) {
  const windowScale = responderParams.windowScale ?? 1;
  const responder = spawn<ResponderReady, ResponderResult | null>("responder", role("hopwire-responder"), responderParams);
  void responder.ready.then((r) => rv.publish("responder", r.port), () => {});
  const middle = t.viaRelay
    ? spawn<MiddleReady, null>("middle", role("hopwire-middle"), {
        targetPortFile: rv.path("responder"),
        windowScale,
        ...busyPollFor(t, "middle"),
      } satisfies MiddleParams)
    : undefined;
  void middle?.ready.then((m) => rv.publish("middle", m.port), () => {});
  return { responder, middle, portFile: rv.path(middle ? "middle" : "responder"), hops: middle ? ["forward_to_bob"] : [] };
}

/** withChildren with a rendezvous directory that lives as long as the repetition. */
function withTopology<T>(timeoutMs: number, signal: AbortSignal, body: (spawn: Spawn, rv: Rendezvous) => Promise<T>): Promise<T> {
  const rv = new Rendezvous();
  return withChildren(signal, timeoutMs, (spawn) => body(spawn, rv)).finally(() => rv.dispose());
}

function rss(entries: [string, ChildResult<unknown> | undefined][]): ProcessRss[] {
  return entries.flatMap(([r, c]) => (c ? [{ role: r, maxRssBytes: c.maxRssBytes }] : []));
}

export interface OneWayOptions {
  /** Multiplies the library's in-flight bounds on every node (hopwire-net.ts transportOptions): the window check runs 1 and 2. */
  windowScale?: number;
  /** The sender sends bytes bodies with Context.trySend (the docs' streaming loop) instead of forwarding raw payloads. */
  body?: boolean;
  /** With body: the loop runs in a worker on a thread of its own. */
  senderOnThread?: boolean;
}

/** initiator → [middle →] responder's sink, one way; the sink measures. */
export function hopwireOneWay(p: RunParams, signal: AbortSignal, t: HopwireTopology, o: OneWayOptions = {}): Promise<Measurement> {
  const size = p.size!;
  const windowScale = o.windowScale ?? 1;
  return withTopology(timeoutFor(p), signal, async (spawn, rv) => {
    const s = servers(spawn, rv, t, {
      mode: "sink",
      ...(t.secure ? { secure: t.secure } : {}),
      ...(t.sinkOnThread ? { sinkOnThread: true } : {}),
      size,
      windowScale,
      warmupMs: p.warmupMs,
      warmMessages: p.warmMessages ?? 0,
      durationMs: p.durationMs,
    });
    const initiator = spawn<null, InitiatorResult>("initiator", role("hopwire-initiator"), {
      mode: "send",
      portFile: s.portFile,
      hops: s.hops,
      ...(t.secure ? { secure: t.secure } : {}),
      size,
      warmupMs: p.warmupMs,
      warmMessages: p.warmMessages ?? 0,
      durationMs: p.durationMs,
      windowScale,
      ...(o.body ? { body: true } : {}),
      ...(o.senderOnThread ? { senderOnThread: true } : {}),
    } satisfies InitiatorParams);
    // The responder ends the run: its node stops, so the middle sees its connection to it go,
    // and the initiator its own. They end by themselves; no stop() (a stop sent to a child
    // that is already exiting can fail it with EPIPE).
    const r = await s.responder.result;
    const [m, i] = await Promise.all([s.middle?.result, initiator.result]);
    const data = r.data!;
    const sent = i.data as SendResult;
    return {
      metrics: [
        ...throughputMetrics(data.messages, data.payloadBytes, data.seconds),
        busyMetric("responder", data.busy ?? 0),
        ...(data.busySinkThread !== undefined ? [busyMetric("sink thread", data.busySinkThread)] : []),
        busyMetric("initiator", sent.busy),
      ],
      processes: rss([["initiator", i], ["middle", m], ["responder", r]]),
    };
  });
}

/**
 * initiator → [middle →] responder's sink, `totalBytes` of awaited sends (the initiator's
 * bulk mode); the sink times first to last message. The timeout allows 20 MB/s at worst.
 */
export function hopwireBulk(p: RunParams, signal: AbortSignal, t: HopwireTopology, totalBytes: number): Promise<Measurement> {
  return withTopology(30_000 + totalBytes / 20e3, signal, async (spawn, rv) => {
    const s = servers(spawn, rv, t, { mode: "bulk", ...(t.secure ? { secure: t.secure } : {}), size: p.size!, totalBytes, warmupMs: 0, durationMs: 0 });
    const initiator = spawn<null, InitiatorResult>("initiator", role("hopwire-initiator"), {
      mode: "bulk",
      portFile: s.portFile,
      hops: s.hops,
      ...(t.secure ? { secure: t.secure } : {}),
      size: p.size!,
      totalBytes,
      warmupMs: 0,
      durationMs: 0,
    } satisfies InitiatorParams);
    // A role that fails (the initiator's loop saw a closed channel) ends the repetition with its error (withChildren).
    const [i, r, m] = await Promise.all([initiator.result, s.responder.result, s.middle?.result]);
    const data = r.data!;
    return { metrics: throughputMetrics(data.messages, data.payloadBytes, data.seconds), processes: rss([["initiator", i], ["middle", m], ["responder", r]]) };
  });
}

/** initiator → [middle →] responder's echoer and back, one outstanding; the initiator measures. */
export function hopwireRoundTrip(
  p: RunParams,
  signal: AbortSignal,
  t: HopwireTopology & { echoer: "main" | "seed"; warmRoundTrips?: number },
): Promise<Measurement> {
  return withTopology(timeoutFor(p), signal, async (spawn, rv) => {
    const s = servers(spawn, rv, t, {
      mode: "echo",
      echoer: t.echoer,
      ...(t.secure ? { secure: t.secure } : {}),
      ...busyPollFor(t, "responder"),
      warmupMs: p.warmupMs,
      durationMs: p.durationMs,
    });
    const initiator = spawn<null, RoundTripSummary>("initiator", role("hopwire-initiator"), {
      mode: "rtt",
      portFile: s.portFile,
      hops: s.hops,
      ...(t.secure ? { secure: t.secure } : {}),
      ...busyPollFor(t, "initiator"),
      size: p.size!,
      warmupMs: p.warmupMs,
      warmRoundTrips: t.warmRoundTrips ?? 0,
      durationMs: p.durationMs,
    } satisfies InitiatorParams);
    const i = await initiator.result;
    s.responder.stop(); // the middle ends when its connection to the responder goes
    const [r, m] = await Promise.all([s.responder.result, s.middle?.result]);
    return { metrics: roundTripMetrics(i.data), processes: rss([["initiator", i], ["middle", m], ["responder", r]]) };
  });
}

/** Handshakes per second over one TCP hop, `inFlight` at a time, after `warmHandshakes` (see WARM_HANDSHAKES). */
export function hopwireHandshakes(p: RunParams, signal: AbortSignal, secure: SecureSpec, inFlight: number, warmHandshakes: number): Promise<Measurement> {
  return withTopology(timeoutFor(p), signal, async (spawn, rv) => {
    const s = servers(spawn, rv, { secure }, { mode: "listen", secure, warmupMs: p.warmupMs, durationMs: p.durationMs });
    const initiator = spawn<null, HandshakeResult>("initiator", role("hopwire-initiator"), {
      mode: "handshakes",
      portFile: s.portFile,
      hops: [],
      secure,
      size: 0,
      warmupMs: p.warmupMs,
      durationMs: p.durationMs,
      inFlight,
      warmHandshakes,
    } satisfies InitiatorParams);
    const i = await initiator.result;
    s.responder.stop();
    const r = await s.responder.result;
    return {
      metrics: [{ name: "hs/s", unit: "hs/s", value: i.data.handshakes / i.data.seconds, higherIsBetter: true }],
      processes: rss([["initiator", i], ["responder", r]]),
    };
  });
}
