// scale/handshakes-in-flight: a burst of secure channel handshakes from one initiator
// process to one responder process, against a burst of mutually authenticated TLS 1.3
// handshakes between two processes, measured in the same run.
import { registerScenario, type Measurement, type Metric } from "../../scenario.js";
import { withChildren, type BenchChild, type ChildResult } from "../../proc/spawn.js";
import type { BurstResult } from "../../roles/scale-common.js";
import type { ScaleResponderReady, ScaleResponderResult } from "../../roles/scale-responder.js";
import type { TlsBurstServerReady, TlsBurstServerResult } from "../../roles/scale-tls-server.js";

const role = (name: string): URL => new URL(`../../roles/${name}.js`, import.meta.url);

/** Sequential handshakes before the burst, on both sides of the comparison: JIT, first-use costs. */
const WARMUP_HANDSHAKES = 5;
// --quick stays small: a smoke run is about the family still running, not its figures.
const COUNTS = { full: [100, 1000], quick: [10] };
// A burst of 1,000 takes 2–5 s here; a case that hangs fails on this timeout rather than stall the run.
const timeoutFor = (count: number): number => 15_000 + count * 10;

function burstMetrics(b: BurstResult, what: string): Metric[] {
  if (b.failures > 0) throw new Error(`${b.failures} of ${b.count} ${what} failed; first: ${b.firstError}`);
  return [
    { name: "hs/s", unit: "hs/s", value: b.count / (b.totalMs / 1e3), higherIsBetter: true },
    { name: "total", unit: "ms", value: b.totalMs, higherIsBetter: false },
    { name: "p50", unit: "ms", value: b.p50Ms, higherIsBetter: false },
    { name: "p99", unit: "ms", value: b.p99Ms, higherIsBetter: false },
  ];
}

async function finish<R>(server: BenchChild<unknown, R>, client: ChildResult<BurstResult>, what: string, roles: [string, string]): Promise<Measurement> {
  server.stop();
  const s = await server.result;
  return {
    metrics: burstMetrics(client.data, what),
    processes: [
      { role: roles[0], maxRssBytes: client.maxRssBytes },
      { role: roles[1], maxRssBytes: s.maxRssBytes },
    ],
  };
}

export const tlsHandshakes = registerScenario({
  name: "scale/tls-handshakes-in-flight",
  description:
    "Baseline of scale/handshakes-in-flight: n node:tls 1.3 connections started at once from one client process to one " +
    "server process (TLS_AES_256_GCM_SHA384, mutual auth with self-signed Ed25519 certificates, one SecureContext per " +
    "side shared by every connection, backlog 4096): TCP connect, handshake, one 1-byte round trip each. A failure fails the case.",
  params: ["count"],
  counts: COUNTS,
  run: (p, signal) =>
    withChildren(signal, timeoutFor(p.count!), async (spawn) => {
      const server = spawn<TlsBurstServerReady, TlsBurstServerResult>("server", role("scale-tls-server"), {});
      const ready = await server.ready;
      const client = spawn<null, BurstResult>("client", role("scale-tls-client"), { ...ready, count: p.count, warmupHandshakes: WARMUP_HANDSHAKES });
      return finish(server, await client.result, "TLS handshakes", ["client", "server"]);
    }),
});

export const handshakesInFlight = registerScenario({
  name: "scale/handshakes-in-flight",
  description:
    "n secure channel handshakes (Noise XX + identities + CONFIRM, node crypto, inline) started at once from one initiator " +
    "node to one responder node over ONE TCP connection; two child processes. hs/s = n / total; p50/p99 = start-to-open " +
    "of single handshakes within the burst. A failure fails the case.",
  params: ["count"],
  counts: COUNTS,
  baseline: "scale/tls-handshakes-in-flight",
  run: (p, signal) =>
    withChildren(signal, timeoutFor(p.count!), async (spawn) => {
      const responder = spawn<ScaleResponderReady, ScaleResponderResult>("responder", role("scale-responder"), {
        channels: true,
        sink: false,
        count: p.count,
        size: 0,
        warmupMs: 0,
        durationMs: 0,
      });
      const { port } = await responder.ready;
      const initiator = spawn<null, BurstResult>("initiator", role("scale-hs-initiator"), { port, count: p.count, warmupHandshakes: WARMUP_HANDSHAKES });
      return finish(responder, await initiator.result, "handshakes", ["initiator", "responder"]);
    }),
});
