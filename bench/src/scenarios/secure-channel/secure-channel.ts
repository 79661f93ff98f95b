// secure-channel/*: Noise XX channels between Hopwire nodes in separate processes, over one
// TCP hop or the seed's two (through the middle node's built-in relay), against node:tls,
// a plain TCP proxy and TLS handshakes measured in the same run.
import { registerScenario, type Params, type RunParams } from "../../scenario.js";
import { makeSelfSignedCert } from "../../net/self-signed.js";
import { registerWindowCheck } from "../check/window-check.js";
import { withChildren } from "../../proc/spawn.js";
import {
  hopwireHandshakes,
  hopwireOneWay,
  hopwireRoundTrip,
  oneWayWindowNote,
  warmHandshakesFor,
  warmHandshakesNote,
  warmNote,
  warmRoundTripsFor,
  windowed,
  windowNote,
} from "../tcp/hopwire-topology.js";
import type { SecureSpec } from "../../roles/hopwire-net.js";
import type { TlsHandshakeParams, TlsHandshakeReady, TlsHandshakeResult } from "../../roles/hopwire-tls-handshakes.js";

/** Handshakes in flight, for Hopwire and for node:tls alike. */
const IN_FLIGHT = 8;

/**
 * Share of --duration each repetition measures (see windowed()): the noble provider runs
 * ~35× slower AEAD, so its figures need fewer messages and get shorter windows.
 */
const share = (p: Params): number => (p.provider === "noble" ? 0.15 : 0.3);
const HANDSHAKE_SHARE = 0.4;

const spec = (p: Params): SecureSpec => ({ provider: p.provider ?? "node", cryptoThreads: p.cryptoThreads ?? 0 });

const series = (p: Params): string => {
  const threads = p.cryptoThreads ?? 0;
  const mode = threads === 0 ? "inline" : `${threads} crypto thread${threads > 1 ? "s" : ""}`;
  return p.provider === "noble" ? `hopwire ${mode} (noble)` : `hopwire ${mode}`;
};

const TLS_HS = new URL("../../roles/hopwire-tls-handshakes.js", import.meta.url);

/**
 * One repetition of the one-way runs, the library's in-flight bounds × scale (the window
 * check's 2W is 2): the channel's credit and encryptor queue, and TCP's send high-water mark.
 */
const CHANNEL_WINDOW = "the channel's credit (32 768 messages, 4 MiB) and encryptor queue limits (8 192 messages, 4 MiB), every node's TCP send high-water mark (1 MiB)";
const oneHopAt = (p: RunParams, signal: AbortSignal, windowScale: number) =>
  hopwireOneWay(windowed(p, share(p), { steady: true }), signal, { secure: spec(p) }, { windowScale });
const twoHopAt = (p: RunParams, signal: AbortSignal, windowScale: number) =>
  hopwireOneWay(windowed(p, share(p), { steady: true }), signal, { secure: spec(p), viaRelay: true }, { windowScale });

// Lives here rather than in baselines/ because only secure-channel/handshakes uses it.
registerScenario({
  name: "baseline/tls-handshakes",
  description:
    `node:tls 1.3 (TLS_AES_256_GCM_SHA384) full handshakes per second over loopback, made like secure-channel/handshakes: ` +
    `mutual authentication with Ed25519 self-signed certificates (each side trusts only the other's), one SecureContext ` +
    `per side shared by every handshake, over TCP connections opened ahead (Hopwire's run over one open connection, so TCP ` +
    `connect/accept stays off the path); ${IN_FLIGHT} in flight, each connection closed once verified; client and server ` +
    "are child processes." + windowNote(HANDSHAKE_SHARE, true) + warmHandshakesNote,
  params: [],
  run: (full, signal) => {
    const p = windowed(full, HANDSHAKE_SHARE, { steady: true });
    return withChildren(signal, p.warmupMs + p.durationMs + 20_000, async (spawn) => {
      const clientIdentity = makeSelfSignedCert("client", "ed25519");
      const server = spawn<TlsHandshakeReady, null>("server", TLS_HS, {
        mode: "server",
        peerCertPem: clientIdentity.certPem,
        warmupMs: 0,
        durationMs: 0,
      } satisfies TlsHandshakeParams);
      const { port, certPem } = await server.ready;
      const client = spawn<null, TlsHandshakeResult>("client", TLS_HS, {
        mode: "client",
        port,
        peerCertPem: certPem,
        identity: clientIdentity,
        inFlight: IN_FLIGHT,
        warmupMs: p.warmupMs,
        durationMs: p.durationMs,
        warmCount: warmHandshakesFor(full),
      } satisfies TlsHandshakeParams);
      const c = await client.result;
      server.stop();
      const s = await server.result;
      return {
        metrics: [{ name: "hs/s", unit: "hs/s", value: c.data.handshakes / c.data.seconds, higherIsBetter: true }],
        processes: [
          { role: "client", maxRssBytes: c.maxRssBytes },
          { role: "server", maxRssBytes: s.maxRssBytes },
        ],
      };
    });
  },
});

registerScenario({
  name: "secure-channel/handshakes",
  description:
    `Complete secure-channel handshakes per second over one TCP hop (Noise XX with identities, through CONFIRM): ` +
    `createSecureChannel ${IN_FLIGHT} at a time on one connection, each channel closed once up. Initiator and ` +
    "responder are child processes." + windowNote(HANDSHAKE_SHARE, true) + warmHandshakesNote,
  params: ["provider"],
  baseline: "baseline/tls-handshakes",
  run: (p, signal) => hopwireHandshakes(windowed(p, HANDSHAKE_SHARE, { steady: true }), signal, spec(p), IN_FLIGHT, warmHandshakesFor(p)),
});

registerScenario({
  name: "secure-channel/one-hop-throughput",
  // --smoke: the family's core path, in well under a second per repetition.
  smoke: true,
  description:
    "initiator → responder, one TCP hop, one secure channel, one way: size-byte raw payloads (Context.tryForward; forward for one it refuses) through the channel to a sink " +
    "placed \"main\", ~64 KiB per turn (the last send it refused awaited: a send waits while the channel has no credit), pausing while " +
    "the channel (its send queue: credit or a full connection) or the connection needsDrain: the library's own bounds, no " +
    "application window. The sink measures on its own clock. Two " +
    "child processes." + oneWayWindowNote("30% (noble: 15%)"),
  params: ["size", "cryptoThreads", "provider"],
  baseline: "baseline/tls",
  chart: { series },
  run: (p, signal) => oneHopAt(p, signal, 1),
});
registerWindowCheck({ name: "secure-channel/one-hop-throughput", params: ["size", "cryptoThreads", "provider"], window: CHANNEL_WINDOW, runAt: oneHopAt });

registerScenario({
  name: "secure-channel/one-hop-send",
  description:
    "secure-channel/one-hop-throughput (node crypto, inline) with the sender written as docs/secure-channels.md's streaming " +
    "loop: each payload a bytes body, ctx.trySend(route(channel, \"sink\"), payload) (ctx.send for one it refuses), pausing while channel.needsDrain (msgpack's " +
    "bin header in front: 2-5 bytes more per message than the baseline writes), not a forwarded prebuilt message. Two child " +
    "processes." + oneWayWindowNote("30%"),
  params: ["size"],
  baseline: "baseline/tls",
  run: (p, signal) => hopwireOneWay(windowed(p, 0.3, { steady: true }), signal, { secure: { provider: "node", cryptoThreads: 0 } }, { body: true }),
});

// (secure-channel/one-hop-vs-aead is gone: it divided channel messages per second by
// seal+open calls per second, but a channel seals records that may carry several messages,
// so at 64 B it compared records with messages (5.8× "faster than AES-GCM"). node:tls, a
// record layer too, is the peer: see secure-channel/one-hop-throughput.)

// Both providers, as the issue asks (noble measures a shorter window: see share()).
registerScenario({
  name: "secure-channel/two-hop-throughput",
  description:
    "The seed's topology, one way: initiator → middle (built-in relay \"forward_to_bob\") → responder, one secure " +
    "channel end to end; sender as in secure-channel/one-hop-throughput. Three child processes." +
    oneWayWindowNote("30% (noble: 15%)"),
  params: ["size", "cryptoThreads", "provider"],
  baseline: "baseline/tls",
  run: (p, signal) => twoHopAt(p, signal, 1),
});
registerWindowCheck({ name: "secure-channel/two-hop-throughput", params: ["size", "cryptoThreads", "provider"], window: CHANNEL_WINDOW, runAt: twoHopAt });

registerScenario({
  name: "secure-channel/seed-echo-rtt",
  description:
    "The seed end to end: responder (echoer on its own thread, secure channel listener), middle (built-in relay), " +
    "initiator; sendAndReceive(route(channel, \"echoer\"), payload) one at a time through a channel over two TCP " +
    "hops (default channel options). Three child processes." + windowNote(0.3, true) + warmNote,
  params: ["size"],
  baseline: "baseline/tcp-proxy-rtt",
  // Read warm, as its baseline is and as tcp/one-hop-rtt is (a fresh process is still compiling).
  run: (p, signal) =>
    hopwireRoundTrip(windowed(p, 0.3, { steady: true }), signal, {
      secure: { provider: "node", cryptoThreads: 0 },
      viaRelay: true,
      echoer: "seed",
      warmRoundTrips: warmRoundTripsFor(p),
    }),
});
