import { oneWayWindowNote, windowed } from "../tcp/hopwire-topology.js";
import { registerScenario } from "../../scenario.js";
import { ONE_WAY_SHARE, oneWay } from "./tcp-topology.js";

export const tls = registerScenario({
  name: "baseline/tls",
  description:
    "node:tls 1.3 restricted to TLS_AES_256_GCM_SHA384 over loopback (self-signed P-256 cert made at " +
    "run time, verified by the client), the tcp-framed traffic inside; sender and sink are child processes." + oneWayWindowNote(ONE_WAY_SHARE),
  params: ["size"],
  baseline: "baseline/tcp-framed",
  chart: { series: "node:tls" },
  run: (p, signal) => oneWay(windowed(p, ONE_WAY_SHARE, { steady: true }), signal, { tls: true }),
});
