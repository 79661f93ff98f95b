// The process topologies the TCP and TLS baselines share. Every role is its own child
// process: the receiver and the sender each get a core on a 2-core machine, as two Hopwire
// nodes would, and each process's peak RSS belongs to this repetition alone.
import { withChildren } from "../../proc/spawn.js";
import { roundTripMetrics, throughputMetrics } from "../../metrics.js";
import { warmCapMs } from "../../warm-count.js";
import type { Measurement, RunParams } from "../../scenario.js";
import type { SinkReady, SinkResult } from "../../roles/sink.js";
import type { EchoReady, EchoResult } from "../../roles/echo.js";
import type { ProxyReady } from "../../roles/proxy.js";
import type { RttClientResult } from "../../roles/rtt-client.js";

const role = (name: string): URL => new URL(`../../roles/${name}.js`, import.meta.url);

/** Slack on top of the repetition's own time for spawning, handshakes and teardown. */
/**
 * Share of --duration (and warm-up) the one-way baselines measure: the same as the Hopwire
 * tcp/ and secure-channel/ scenarios they are compared with (see windowed()), so that both
 * sides of a ratio measure the same window after the same warm-up.
 */
export const ONE_WAY_SHARE = 0.3;

/** A repetition's timeout: its window may open as late as the warm count's cap (warm-count.ts). */
export const timeoutFor = (p: RunParams): number => warmCapMs(p.warmupMs) + p.durationMs + 15_000;

export interface TopologyOptions {
  tls?: boolean;
  /** Put a plain TCP proxy process between client and server. */
  viaProxy?: boolean;
  /** Bulk: the sink counts from its first byte until this much payload has arrived (and the timeout grows with it). */
  totalBytes?: number;
  /** Round trips: made before the window on top of its warm-up time (see WARM_ROUND_TRIPS). */
  warmRoundTrips?: number;
  /** Round trips: the echo server hands every frame to a worker_thread and back before writing it (roles/echo.ts). */
  threadEcho?: boolean;
  /** Round trips: every frame is an AES-256-GCM record, sealed and opened at both ends (roles/echo.ts, roles/rtt-client.ts). */
  sealed?: boolean;
}

/** A bulk run may be slow on a loaded host: allow 20 MB/s at worst. */
const bulkTimeout = (bytes: number): number => 30_000 + bytes / 20e3;

/** client → [proxy →] sink, one way; the sink measures. */
export function oneWay(p: RunParams, signal: AbortSignal, o: TopologyOptions = {}): Promise<Measurement> {
  return withChildren(signal, o.totalBytes ? bulkTimeout(o.totalBytes) : timeoutFor(p), async (spawn) => {
    const sink = spawn<SinkReady, SinkResult>("sink", role("sink"), {
      tls: o.tls ?? false,
      warmupMs: p.warmupMs,
      durationMs: p.durationMs,
      warmMessages: p.warmMessages ?? 0,
      ...(o.totalBytes ? { totalBytes: o.totalBytes } : {}),
    });
    const target = await sink.ready;
    const proxy = o.viaProxy ? spawn<ProxyReady>("proxy", role("proxy"), { targetPort: target.port }) : undefined;
    const port = proxy ? (await proxy.ready).port : target.port;
    const client = spawn("client", role("sender"), { port, certPem: target.certPem, size: p.size });
    const [s, c, x] = await Promise.all([sink.result, client.result, proxy?.result]);
    return {
      metrics: throughputMetrics(s.data.messages, s.data.payloadBytes, s.data.seconds),
      processes: [
        { role: "client", maxRssBytes: c.maxRssBytes },
        ...(x ? [{ role: "proxy", maxRssBytes: x.maxRssBytes }] : []),
        { role: "sink", maxRssBytes: s.maxRssBytes },
      ],
    };
  });
}

/** client → [proxy →] echo → back, one frame outstanding; the client measures. */
export function roundTrip(p: RunParams, signal: AbortSignal, o: TopologyOptions = {}): Promise<Measurement> {
  return withChildren(signal, timeoutFor(p), async (spawn) => {
    const echo = spawn<EchoReady, EchoResult>("echo", role("echo"), { tls: o.tls ?? false, threadEcho: o.threadEcho ?? false, sealed: o.sealed ?? false });
    const target = await echo.ready;
    // A sealed run whose echo made no keys would measure plain frames under the floor's name.
    if (o.sealed && target.keys === undefined) throw new Error("the echo server did not set up its records' keys");
    const proxy = o.viaProxy ? spawn<ProxyReady>("proxy", role("proxy"), { targetPort: target.port }) : undefined;
    const port = proxy ? (await proxy.ready).port : target.port;
    const client = spawn<null, RttClientResult>("client", role("rtt-client"), {
      port,
      certPem: target.certPem,
      size: p.size,
      warmupMs: p.warmupMs,
      warmRoundTrips: o.warmRoundTrips ?? 0,
      durationMs: p.durationMs,
      ...(target.keys ? { keys: target.keys } : {}),
    });
    const [c, e, x] = await Promise.all([client.result, echo.result, proxy?.result]);
    // A thread echo that never crossed would measure plain TCP under the wrong name.
    if (o.threadEcho && e.data.threadEchoed === 0) throw new Error("the echo server's thread echoed no frame");
    // Nor may a sealed one skip the client's open of each answer (the fourth AEAD call of a round trip).
    if (o.sealed && c.data.opened === 0) throw new Error("the client opened no answer as a record");
    return {
      metrics: roundTripMetrics(c.data),
      processes: [
        { role: "client", maxRssBytes: c.maxRssBytes },
        ...(x ? [{ role: "proxy", maxRssBytes: x.maxRssBytes }] : []),
        { role: "echo", maxRssBytes: e.maxRssBytes },
      ],
    };
  });
}
