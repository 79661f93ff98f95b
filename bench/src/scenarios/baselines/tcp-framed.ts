import { oneWayWindowNote, warmNote, warmRoundTripsFor, windowed, windowNote } from "../tcp/hopwire-topology.js";
import { registerScenario } from "../../scenario.js";
import { ONE_WAY_SHARE, oneWay, roundTrip } from "./tcp-topology.js";

export const tcpFramed = registerScenario({
  name: "baseline/tcp-framed",
  description:
    "Raw node:net over loopback: u32 BE length + frame, a turn's frames (~64 KiB) handed to the socket corked (one writev) " +
    "with backpressure, written as Hopwire's transport writes them (heads in 64 KiB arenas reused once the socket has " +
    "written them, payloads under 4 KiB copied next to them, longer ones passed as views). Sender and sink are separate child processes; the sink counts delivered " +
    "frames (views, no copy)." + oneWayWindowNote(ONE_WAY_SHARE),
  params: ["size"],
  chart: { series: "raw TCP" },
  run: (p, signal) => oneWay(windowed(p, ONE_WAY_SHARE, { steady: true }), signal),
});

export const tcpFramedRtt = registerScenario({
  name: "baseline/tcp-framed-rtt",
  description:
    "Raw node:net round trip with one frame outstanding: client and echo server are separate " +
    "child processes, TCP_NODELAY, latency from hrtime into a native histogram." + windowNote(1, true) + warmNote,
  params: ["size"],
  // The same steady warm-up as the round trips read against it (tcp/one-hop-rtt*).
  run: (p, signal) => roundTrip(windowed(p, 1, { steady: true }), signal, { warmRoundTrips: warmRoundTripsFor(p) }),
});

// The raw floor of tcp/one-hop-rtt-thread-echo: the same round trip with one thread crossing
// each way in the echo process. The sum of baseline/tcp-framed-rtt and baseline/messageport-rtt
// (issue 8's target) measures those two apart; this measures them together, as the Hopwire
// row pays them: one process's wake-ups and cores shared by both.
export const tcpFramedRttThreadEcho = registerScenario({
  name: "baseline/tcp-framed-rtt-thread-echo",
  description:
    "baseline/tcp-framed-rtt with the echo server handing every frame to a worker_thread and back over the Worker's own port " +
    "(structured clone each way, as baseline/messageport-rtt) before writing it: the raw floor of a round trip to an echo on " +
    "its own thread. Two child processes." + windowNote(1, true) + warmNote,
  params: ["size"],
  run: (p, signal) => roundTrip(windowed(p, 1, { steady: true }), signal, { warmRoundTrips: warmRoundTripsFor(p), threadEcho: true }),
});
