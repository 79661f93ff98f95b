import { registerScenario } from "../../scenario.js";
import { oneWay, roundTrip } from "./tcp-topology.js";

export const tcpFramed = registerScenario({
  name: "baseline/tcp-framed",
  description:
    "Raw node:net over loopback: u32 BE length + frame, one write() per event-loop turn with " +
    "backpressure. Sender and sink are separate child processes; the sink counts delivered frames.",
  params: ["size"],
  chart: { series: "raw TCP" },
  run: (p, signal) => oneWay(p, signal),
});

export const tcpFramedRtt = registerScenario({
  name: "baseline/tcp-framed-rtt",
  description:
    "Raw node:net round trip with one frame outstanding: client and echo server are separate " +
    "child processes, TCP_NODELAY, latency from hrtime into a native histogram.",
  params: ["size"],
  run: (p, signal) => roundTrip(p, signal),
});
