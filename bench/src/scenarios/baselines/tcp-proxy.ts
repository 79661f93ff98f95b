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
