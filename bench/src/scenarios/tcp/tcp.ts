// tcp/*: Hopwire's TCP transport between nodes in separate processes, against raw
// node:net framing (and a plain TCP proxy for the relay), measured in the same run.
import { registerScenario } from "../../scenario.js";
import { hopwireOneWay, hopwireRoundTrip, oneWayWindowNote, warmNote, warmRoundTripsFor, windowed, windowNote } from "./hopwire-topology.js";
import { registerWindowCheck } from "../check/window-check.js";
import type { RunParams } from "../../scenario.js";

/** Share of --duration each repetition measures (see windowed()). */
const SHARE = 0.3;

/** What bounds a one-way TCP run's messages in flight, besides the kernel's socket buffers. */
const TCP_WINDOW = "every node's TCP send high-water mark, 1 MiB";

const oneHopAt = (p: RunParams, signal: AbortSignal, windowScale: number) => hopwireOneWay(windowed(p, SHARE, { steady: true }), signal, {}, { windowScale });

registerScenario({
  name: "tcp/one-hop-rtt",
  description:
    "initiator → responder over one TCP connection: node.sendAndReceive(route(connection, \"echoer\"), payload), " +
    "one outstanding; the echoer is placed \"main\" and sends the payload back undecoded. Two child processes." + windowNote(SHARE, true) + warmNote,
  params: ["size"],
  baseline: "baseline/tcp-framed-rtt",
  // The steady warm-up, as its baseline's: after 60 ms a fresh process is still compiling
  // (V8's compiler threads then cost more CPU per round trip than the round trip itself).
  run: (p, signal) => hopwireRoundTrip(windowed(p, SHARE, { steady: true }), signal, { echoer: "main", warmRoundTrips: warmRoundTripsFor(p) }),
});

registerScenario({
  name: "tcp/one-hop-throughput",
  description:
    "initiator → responder over one TCP connection, one way: size-byte raw payloads (Context.tryForward of a LocalMessage; forward for one it refuses) to a counting sink " +
    "placed \"main\", ~64 KiB per turn (the last send it refused awaited), pausing while connection.needsDrain; no application window, " +
    "only TCP's, as in its baseline. The sink measures on its own clock. Two child processes." + oneWayWindowNote(SHARE),
  params: ["size"],
  baseline: "baseline/tcp-framed",
  chart: { series: "hopwire TCP" },
  run: (p, signal) => oneHopAt(p, signal, 1),
});
registerWindowCheck({ name: "tcp/one-hop-throughput", params: ["size"], window: TCP_WINDOW, runAt: oneHopAt });

registerScenario({
  name: "tcp/one-hop-send",
  description:
    "tcp/one-hop-throughput with the sender written as docs/transport-tcp.md's streaming loop: each payload a bytes body, " +
    "ctx.trySend(route(connection, \"sink\"), payload) (ctx.send for one it refuses) from one buffer refilled by nobody (msgpack's bin header in front: 2-5 bytes " +
    "more per message than the baseline writes), not a forwarded prebuilt message. Two child processes." + oneWayWindowNote(SHARE),
  params: ["size"],
  baseline: "baseline/tcp-framed",
  run: (p, signal) => hopwireOneWay(windowed(p, SHARE, { steady: true }), signal, {}, { body: true }),
});

registerScenario({
  name: "tcp/one-hop-send-from-thread",
  description:
    "tcp/one-hop-send with the loop in a worker on a thread of its own (startWorker's default placement), as a node that uses " +
    "more than one core streams: `ctx.trySend(route(connection, \"sink\"), payload)` of a bytes body (`await ctx.send` for one it refuses), a turn of ~64 KiB at a " +
    "time; a send resolves once the thread's link to the main thread has credit, which the main thread returns as it routes " +
    "into the connection (and stops returning while the connection needs drain). Same sink, same baseline: the ratio is what " +
    "sending from a thread costs on top of a plain framed TCP stream. Two child processes." + oneWayWindowNote(SHARE),
  params: ["size"],
  baseline: "baseline/tcp-framed",
  run: (p, signal) => hopwireOneWay(windowed(p, SHARE, { steady: true }), signal, {}, { body: true, senderOnThread: true }),
});

const toThreadAt = (p: RunParams, signal: AbortSignal, windowScale: number) =>
  hopwireOneWay(windowed(p, SHARE, { steady: true }), signal, { sinkOnThread: true }, { windowScale });

registerScenario({
  name: "tcp/one-hop-to-thread",
  description:
    "tcp/one-hop-throughput with the counting sink on a thread of its own (a class started with startWorker, the default " +
    "placement) instead of placed \"main\": the responder's main thread reads TCP and hands every message across to the " +
    "sink's thread (the way a node uses more than one core). Same sender, same baseline: the ratio is what the thread hop costs on top " +
    "of a plain framed TCP stream. Two child processes." + oneWayWindowNote(SHARE),
  params: ["size"],
  baseline: "baseline/tcp-framed",
  run: (p, signal) => toThreadAt(p, signal, 1),
});
registerWindowCheck({ name: "tcp/one-hop-to-thread", params: ["size"], window: `${TCP_WINDOW}; the sink's mailbox, 8192 messages / 4 MiB`, runAt: toThreadAt });

// The same round trip with the seed's Echoer on its own thread: one thread crossing each
// way on top of tcp/one-hop-rtt. Its baseline pays the same crossings in raw form; issue 8's
// target reads its p50 against baseline/tcp-framed-rtt plus baseline/messageport-rtt, two
// rows measured apart (select them with it, see --scenario).
registerScenario({
  name: "tcp/one-hop-rtt-thread-echo",
  description:
    "tcp/one-hop-rtt with the seed's Echoer (minus its print) on its own thread instead of placed \"main\": every round " +
    "trip crosses to the echo thread and back. Its baseline is the same round trip in raw form (framed TCP, the echo's " +
    "frames crossing to a thread over a bare MessagePort); issue 8's target reads its p50 against baseline/tcp-framed-rtt + " +
    "baseline/messageport-rtt (same run). Two child processes." + windowNote(SHARE, true) + warmNote,
  params: ["size"],
  baseline: "baseline/tcp-framed-rtt-thread-echo",
  run: (p, signal) => hopwireRoundTrip(windowed(p, SHARE, { steady: true }), signal, { echoer: "seed", warmRoundTrips: warmRoundTripsFor(p) }),
});

// The same two round trips with busy polling on both nodes (NodeOptions.busyPollMicros), the
// opt-in latency mode: read their p50 against the rows above, and their busy:initiator too,
// which is what the mode costs (docs/architecture.md, "Busy polling").
const BUSY_POLL_MICROS = 150;
const BUSY_POLL = { micros: BUSY_POLL_MICROS, nodes: ["initiator", "responder"] } as const;
const busyPollNote =
  ` Both nodes with NodeOptions.busyPollMicros ${BUSY_POLL_MICROS}: after each socket write (and each batch posted to the echo thread) ` +
  "a node's event loop polls instead of sleeping for that long, trading CPU (busy:initiator) for the wake-ups a round trip " +
  "otherwise waits for. Two processes and one echo thread on the host's cores: a host with fewer free cores than busy-polling " +
  "threads loses more than it gains.";

for (const [name, echoer, of, baseline] of [
  ["tcp/one-hop-rtt-busy-poll", "main", 'tcp/one-hop-rtt (echoer placed "main").', "baseline/tcp-framed-rtt"],
  [
    "tcp/one-hop-rtt-thread-echo-busy-poll",
    "seed",
    "tcp/one-hop-rtt-thread-echo (the seed's Echoer on its own thread).",
    "baseline/tcp-framed-rtt-thread-echo",
  ],
] as const) {
  registerScenario({
    name,
    description: of + busyPollNote + windowNote(SHARE, true) + warmNote,
    params: ["size"],
    baseline,
    run: (p, signal) => hopwireRoundTrip(windowed(p, SHARE, { steady: true }), signal, { echoer, warmRoundTrips: warmRoundTripsFor(p), busyPoll: BUSY_POLL }),
  });
}

const relayAt = (p: RunParams, signal: AbortSignal, windowScale: number) =>
  hopwireOneWay(windowed(p, SHARE, { steady: true }), signal, { viaRelay: true }, { windowScale });

registerScenario({
  name: "tcp/relay-throughput",
  description:
    "initiator → middle → responder, one way, as the seed's three nodes: the middle runs the built-in relay " +
    "\"forward_to_bob\" (startRelay: a mailbox on the main thread, zero-copy; it stops reading its inbound connection " +
    "while its outbound one is full). Sender as in tcp/one-hop-throughput: TCP backpressure only, as its baseline. Three " +
    "child processes." + oneWayWindowNote(SHARE),
  params: ["size"],
  baseline: "baseline/tcp-proxy",
  run: (p, signal) => relayAt(p, signal, 1),
});
registerWindowCheck({ name: "tcp/relay-throughput", params: ["size"], window: TCP_WINDOW, runAt: relayAt });
