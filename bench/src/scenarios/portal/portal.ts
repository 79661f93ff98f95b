// The portal family: one TCP stream's bulk throughput, and connection setup, through a
// Hopwire TCP portal (inlet → secure channel over TCP → outlet) on one host, beside the
// same run's direct TCP and a hand-rolled node:tls tunnel (the baselines' chain:
// portal → TLS tunnel → direct TCP); and the same portal through a relay node, as the CLI's
// three commands build it, beside that topology hand-rolled in node:tls (portal/via-relay →
// baseline/portal-tls-via-relay → the TLS tunnel). iperf3 is not used: the bulk client is a
// Node process writing 64 KiB buffers (roles/portal-byte-sender.ts).
import { registerScenario, type Measurement, type Metric, type RunParams } from "../../scenario.js";
import { withChildren, type BenchChild, type SpawnChild as Spawn } from "../../proc/spawn.js";
import type { RoundTripSummary } from "../../metrics.js";
import type { ByteSinkResult } from "../../roles/portal-byte-sink.js";
import { WARM_BYTES, WARM_COUNT_CAP_MS, warmCapMs } from "../../warm-count.js";
import { STEADY_MIN_DURATION_MS, STEADY_WARMUP_MS } from "../tcp/hopwire-topology.js";

const role = (name: string): URL => new URL(`../../roles/${name}.js`, import.meta.url);
const timeoutFor = (p: RunParams): number => warmCapMs(p.warmupMs) + p.durationMs + 20_000;

/**
 * The bulk runs' warm-up, as the other one-way families' in a full run (tcp/hopwire-topology.ts,
 * warm-count.ts): at least STEADY_WARMUP_MS after the first byte, and WARM_BYTES arrived (at
 * most WARM_COUNT_CAP_MS). With the plain 0.2 s the portal's window caught its nodes' first
 * second (V8 still optimising): 0.61-0.65× the TLS tunnel, against 0.84-0.97× from 1 s on,
 * with its stream windows fixed at 8 MiB as well (session 15).
 */
function bulkWarmup(p: RunParams): { warmupMs: number; warmBytes: number } {
  const steady = p.durationMs >= STEADY_MIN_DURATION_MS;
  return steady ? { warmupMs: Math.max(p.warmupMs, STEADY_WARMUP_MS), warmBytes: WARM_BYTES } : { warmupMs: p.warmupMs, warmBytes: 0 };
}

/** How the client's connection reaches the target. */
type Path = "direct" | "tls-tunnel" | "portal" | "tls-via-relay" | "portal-via-relay" | "portal-via-relay-over-connection";

/**
 * Starts the path's middle processes in front of `targetPort`; resolves to the port a
 * client connects to, and the middle children (their RSS is reported).
 */
async function middle(spawn: Spawn, path: Path, targetPort: number): Promise<{ port: number; children: BenchChild[] }> {
  if (path === "direct") return { port: targetPort, children: [] };
  if (path === "tls-tunnel") {
    const server = spawn<{ port: number; certPem: string }>("tunnel-server", role("tls-tunnel"), { side: "server", targetPort });
    const { port: serverPort, certPem } = await server.ready;
    const client = spawn<{ port: number }>("tunnel-client", role("tls-tunnel"), { side: "client", serverPort, certPem });
    return { port: (await client.ready).port, children: [server, client] };
  }
  if (path === "tls-via-relay") {
    const relay = spawn<{ port: number; registrantPort: number; certPem: string }>("tls-relay", role("tls-relay-tunnel"), { side: "relay" });
    const { port: clientPort, registrantPort, certPem: relayCertPem } = await relay.ready;
    const server = spawn<{ certPem: string }>("tunnel-server", role("tls-relay-tunnel"), { side: "server", registrantPort, relayCertPem, targetPort });
    const client = spawn<{ port: number }>("tunnel-client", role("tls-relay-tunnel"), { side: "client", clientPort, certPem: (await server.ready).certPem });
    return { port: (await client.ready).port, children: [relay, server, client] };
  }
  if (path === "portal-via-relay" || path === "portal-via-relay-over-connection") {
    const over = path === "portal-via-relay-over-connection" ? { over: "connection" } : {};
    const relay = spawn<{ port: number }>("relay-node", role("portal-relay-node"), { side: "relay", ...over });
    const relayPort = (await relay.ready).port;
    const outlet = spawn("outlet-node", role("portal-relay-node"), { side: "outlet", relayPort, targetPort, ...over });
    await outlet.ready; // registered: forward_to_bob exists
    const inlet = spawn<{ port: number }>("inlet-node", role("portal-relay-node"), { side: "inlet", relayPort });
    return { port: (await inlet.ready).port, children: [relay, outlet, inlet] };
  }
  const outlet = spawn<{ port: number }>("outlet-node", role("portal-node"), { side: "outlet", targetPort });
  const inlet = spawn<{ port: number }>("inlet-node", role("portal-node"), { side: "inlet", outletNodePort: (await outlet.ready).port });
  return { port: (await inlet.ready).port, children: [outlet, inlet] };
}

/** Stops the servers and collects every process's peak RSS. */
async function rssOf(children: BenchChild[]): Promise<Measurement["processes"]> {
  for (const child of children) child.stop();
  const results = await Promise.all(children.map((c) => c.result));
  return results.map((r, i) => ({ role: children[i]!.role, maxRssBytes: r.maxRssBytes }));
}

function bulk(path: Path) {
  return (p: RunParams, signal: AbortSignal): Promise<Measurement> =>
    withChildren(signal, timeoutFor(p), async (spawn) => {
      const sink = spawn<{ port: number }, ByteSinkResult>("sink", role("portal-byte-sink"), { ...bulkWarmup(p), durationMs: p.durationMs });
      const { port, children } = await middle(spawn, path, (await sink.ready).port);
      const sender = spawn("sender", role("portal-byte-sender"), { port });
      const result = await sink.result;
      const processes = await rssOf([sender, ...children]);
      const bytesPerSecond = result.data.bytes / result.data.seconds;
      const metrics: Metric[] = [
        { name: "MB/s", unit: "MB/s", value: bytesPerSecond / 1e6, higherIsBetter: true },
        { name: "Gbit/s", unit: "Gbit/s", value: (bytesPerSecond * 8) / 1e9, higherIsBetter: true },
      ];
      return { metrics, processes: [{ role: "sink", maxRssBytes: result.maxRssBytes }, ...processes] };
    });
}

function setup(path: Path) {
  return (p: RunParams, signal: AbortSignal): Promise<Measurement> =>
    withChildren(signal, timeoutFor(p), async (spawn) => {
      const target = spawn<{ port: number }, RoundTripSummary>("target", role("setup-target"), { warmupMs: p.warmupMs, durationMs: p.durationMs });
      const { port, children } = await middle(spawn, path, (await target.ready).port);
      const client = spawn("client", role("setup-client"), { port });
      const result = await target.result;
      const processes = await rssOf([client, ...children]);
      const s = result.data;
      const metrics: Metric[] = [
        { name: "conn/s", unit: "conn/s", value: s.roundTrips / s.seconds, higherIsBetter: true },
        { name: "p50", unit: "µs", value: s.p50Us, higherIsBetter: false },
        { name: "p99", unit: "µs", value: s.p99Us, higherIsBetter: false },
      ];
      return { metrics, processes: [{ role: "target", maxRssBytes: result.maxRssBytes }, ...processes] };
    });
}

const BULK =
  "One TCP connection; a Node client writes 64 KiB buffers as fast as it drains (iperf3 is not used), the target counts bytes for --duration " +
  `from warmupMs after its first byte; in a full run from at least ${STEADY_WARMUP_MS / 1e3} s after it, once ${WARM_BYTES / 2 ** 20} MiB have arrived ` +
  `(at most ${WARM_COUNT_CAP_MS / 1e3} s after the first), on both sides of the ratio.`;
const SETUP =
  "One connection at a time: the client stamps the wall clock, connects and writes the stamp as its first 8 bytes; the target " +
  "takes its arrival time minus the stamp (both processes read the system clock), then closes. So a figure is client connect → " +
  "first byte at the target, which includes the client's own TCP handshake with the entry point.";

registerScenario({
  name: "baseline/portal-direct-tcp",
  description: `Direct TCP, client → target, two child processes. ${BULK}`,
  params: [],
  run: bulk("direct"),
});

registerScenario({
  name: "baseline/portal-tls-tunnel",
  description:
    "The tunnel a person would hand-roll with node:tls: client → tunnel client (plain TCP in, TLS 1.3 AES-256-GCM out) → " +
    `tunnel server (TLS in, TCP out) → target, four child processes. ${BULK}`,
  params: [],
  baseline: "baseline/portal-direct-tcp",
  run: bulk("tls-tunnel"),
});

registerScenario({
  name: "portal/throughput",
  description:
    "client → inlet node → secure channel over TCP (node crypto, inline) → outlet node → target, four child processes; " +
    `ratio against the TLS tunnel (target ≥ 0.8×; Ockam's anchor: ≈ 1.5 Gbit/s with iperf3, build-trust/ockam PR 7562). ${BULK}`,
  params: [],
  baseline: "baseline/portal-tls-tunnel",
  run: bulk("portal"),
});

registerScenario({
  name: "baseline/portal-tls-via-relay",
  description:
    "The TLS tunnel of baseline/portal-tls-tunnel through a relay, hand-rolled with node:tls as the Hopwire path is built: client → " +
    "tunnel client (plain TCP in; inner TLS 1.3 AES-256-GCM, end to end to the tunnel server) → relay (plain TCP from the tunnel " +
    "client; the tunnel server's side connected out to it over an outer TLS 1.3 connection, as a registrant does, and the relay " +
    "pipes the inner bytes inside it) → tunnel server (outer TLS, then inner TLS over it, then TCP out) → target, five child " +
    `processes; so the relay → server hop is encrypted twice, as there. Ratio against the direct tunnel: what the extra hop and the outer TLS cost. ${BULK}`,
  params: [],
  baseline: "baseline/portal-tls-tunnel",
  run: bulk("tls-via-relay"),
});

registerScenario({
  name: "portal/via-relay",
  description:
    "client → inlet node → relay node (relay service, forward_to_bob) → outlet node → target, five child processes, the nodes " +
    "built as `hopwire relay`, `hopwire outlet --relay` and `hopwire inlet --via` build them, with their defaults: the outlet node " +
    "connects out and registers bob over a secure channel (createRemoteRelay), the inlet's secure channel to the outlet node goes " +
    "through forward_to_bob, so on the relay → outlet hop each of its records travels inside the registrant's channel (encrypted " +
    `twice; node crypto, inline). Ratio against the same topology in node:tls. ${BULK}`,
  params: [],
  baseline: "baseline/portal-tls-via-relay",
  run: bulk("portal-via-relay"),
});

registerScenario({
  name: "portal/via-relay-over-connection",
  description:
    "portal/via-relay with the relay service's allowForwardOverConnection and the outlet node's createRemoteRelay forwardOver " +
    "\"connection\" (an opt-in of @hopwire/relay): the relay node passes forward_to_bob's traffic on the outlet node's TCP connection, " +
    "beside the registrant's channel, so the inlet's channel is encrypted once end to end, as over a plain TCP relay. Ratio " +
    `against the same topology in node:tls (which still encrypts that hop twice). ${BULK}`,
  params: [],
  baseline: "baseline/portal-tls-via-relay",
  run: bulk("portal-via-relay-over-connection"),
});

registerScenario({
  name: "baseline/portal-direct-tcp-setup",
  description: `Connection setup straight to the target, two child processes. ${SETUP}`,
  params: [],
  run: setup("direct"),
});

registerScenario({
  name: "baseline/portal-tls-tunnel-setup",
  description: `Connection setup through the node:tls tunnel (a TLS 1.3 handshake per connection; the tunnel client makes its SecureContext once, not per connection), four child processes. ${SETUP}`,
  params: [],
  baseline: "baseline/portal-direct-tcp-setup",
  run: setup("tls-tunnel"),
});

registerScenario({
  name: "portal/setup",
  description:
    "Connection setup through the portal (the inlet opens a stream over an established secure channel; the outlet dials the " +
    `target on OPEN), four child processes; target p50 ≤ 2 ms on loopback. ${SETUP}`,
  params: [],
  baseline: "baseline/portal-tls-tunnel-setup",
  run: setup("portal"),
});
