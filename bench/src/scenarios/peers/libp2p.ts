// What a user would pick instead of Hopwire: js-libp2p over TCP with Noise and Yamux, two
// child processes on loopback, one stream, the baselines' u32-length framing inside it.
// The libp2p packages are bench devDependencies (roles/libp2p-node.ts says which versions
// and why); without them this scenario is skipped, not failed. (A round-trip variant,
// peers/libp2p-rtt, was dropped for time: ~33 s of a full run; it is in this file's git
// history. It measured p50 380–640 µs against raw TCP's 23–31 µs.)
import { registerScenario } from "../../scenario.js";
import { withChildren } from "../../proc/spawn.js";
import { throughputMetrics } from "../../metrics.js";
import { ONE_WAY_SHARE, timeoutFor } from "../baselines/tcp-topology.js";
import { oneWayWindowNote, windowed } from "../tcp/hopwire-topology.js";
import type { SinkResult } from "../../roles/sink.js";
import type { SenderResult } from "../../roles/sender.js";
import type { Libp2pSinkReady } from "../../roles/libp2p-sink.js";

const role = (name: string): URL => new URL(`../../roles/${name}.js`, import.meta.url);

const PACKAGES = ["libp2p", "@libp2p/tcp", "@chainsafe/libp2p-noise", "@chainsafe/libp2p-yamux", "@multiformats/multiaddr"];

/** Resolves the packages without loading them into the harness. */
async function libp2pUnavailable(): Promise<string | undefined> {
  const missing = PACKAGES.filter((name) => {
    try {
      import.meta.resolve(name);
      return false;
    } catch {
      return true;
    }
  });
  return missing.length ? `${missing.join(", ")} not installed (bench devDependencies; npm ci without --omit=dev)` : undefined;
}

const STACK = "js-libp2p 2.8.8 (TCP, Noise XX 25519/ChaChaPoly/SHA256, Yamux)";

export const libp2pThroughput = registerScenario({
  name: "peers/libp2p-throughput",
  description:
    `${STACK}: a dialer and a listener on 127.0.0.1 (port 0) as child processes, one stream carrying ` +
    "u32-length frames written ~64 KiB at a time under Yamux backpressure; the listener counts delivered frames." +
    oneWayWindowNote(ONE_WAY_SHARE),
  params: ["size"],
  baseline: "baseline/tls",
  chart: { series: "js-libp2p (Noise ChaChaPoly + yamux)" },
  unavailable: libp2pUnavailable,
  run: (full, signal) => {
    const p = windowed(full, ONE_WAY_SHARE, { steady: true }); // the window baseline/tls measures
    return withChildren(signal, timeoutFor(p), async (spawn) => {
      const sink = spawn<Libp2pSinkReady, SinkResult>("listener", role("libp2p-sink"), { warmupMs: p.warmupMs, durationMs: p.durationMs, warmMessages: p.warmMessages ?? 0 });
      const { addr } = await sink.ready;
      const sender = spawn<null, SenderResult>("dialer", role("libp2p-sender"), { addr, size: p.size });
      const s = await sink.result;
      sender.stop();
      const c = await sender.result;
      return {
        metrics: throughputMetrics(s.data.messages, s.data.payloadBytes, s.data.seconds),
        processes: [
          { role: "dialer", maxRssBytes: c.maxRssBytes },
          { role: "listener", maxRssBytes: s.maxRssBytes },
        ],
      };
    });
  },
});
