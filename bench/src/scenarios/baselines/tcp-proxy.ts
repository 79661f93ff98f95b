import { oneWayWindowNote, warmNote, warmRoundTripsFor, windowed, windowNote } from "../tcp/hopwire-topology.js";
import { registerScenario } from "../../scenario.js";
import { ONE_WAY_SHARE, oneWay, roundTrip } from "./tcp-topology.js";

export const tcpProxy = registerScenario({
  name: "baseline/tcp-proxy",
  description:
    "The tcp-framed traffic through a plain TCP proxy (socket.pipe both ways): client → proxy → sink, " +
    "three child processes. The floor for a Hopwire relay node, which must also parse and re-route." + oneWayWindowNote(ONE_WAY_SHARE),
  params: ["size"],
  baseline: "baseline/tcp-framed",
  chart: { series: "raw TCP via proxy" },
  run: (p, signal) => oneWay(windowed(p, ONE_WAY_SHARE, { steady: true }), signal, { viaProxy: true }),
});

export const tcpProxyRtt = registerScenario({
  name: "baseline/tcp-proxy-rtt",
  description:
    "Round trip over two TCP hops: client → proxy → echo server and back, one frame outstanding, " +
    "three child processes (the shape of the seed's initiator → middle → responder)." + windowNote(1, true) + warmNote,
  params: ["size"],
  baseline: "baseline/tcp-framed-rtt",
  // The same warm-up as secure-channel/seed-echo-rtt, which is read against it.
  run: (p, signal) => roundTrip(windowed(p, 1, { steady: true }), signal, { viaProxy: true, warmRoundTrips: warmRoundTripsFor(p) }),
});

// The raw floor of secure-channel/seed-echo-rtt: its round trip with the work any stack must do
// in the seed's shape, and nothing else: two TCP hops through a proxy, an AEAD record sealed and
// opened at each end each way (node:crypto, a cipher per record), the echo on its own thread.
// Read against baseline/tcp-proxy-rtt, as the seed is: the seed's target (≤ 2×) is within reach
// only where this reads under it.
export const seedFloorRtt = registerScenario({
  name: "baseline/seed-floor-rtt",
  description:
    "baseline/tcp-proxy-rtt with the seed's work in raw form: the client seals each request as an AES-256-GCM record " +
    "(node:crypto, a cipher per record, as a secure channel's initiator does) and opens each answer; the echo server " +
    "opens the record, hands its plaintext to a worker_thread and back over the Worker's own port (as " +
    "baseline/tcp-framed-rtt-thread-echo), and seals the answer as a record of its own. Each side makes its next " +
    "record's ciphers after its write, off the round trip's path, as a channel's spare ciphers are. Four AEAD calls, one thread " +
    "crossing each way and two TCP hops each way per round trip: the floor of secure-channel/seed-echo-rtt, no " +
    "handshake, routing or framework. Three child processes." + windowNote(1, true) + warmNote,
  params: ["size"],
  baseline: "baseline/tcp-proxy-rtt",
  run: (p, signal) =>
    roundTrip(windowed(p, 1, { steady: true }), signal, { viaProxy: true, threadEcho: true, sealed: true, warmRoundTrips: warmRoundTripsFor(p) }),
});
