// tcp/*: Hopwire's TCP transport between nodes in separate processes, against raw
// node:net framing (and a plain TCP proxy for the relay), measured in the same run.
import { registerScenario } from "../../scenario.js";
import { hopwireOneWay, hopwireRoundTrip, windowed, windowNote } from "./hopwire-topology.js";

/** Share of --duration each repetition measures (see windowed()). */
const SHARE = 0.3;

registerScenario({
  name: "tcp/one-hop-rtt",
  description:
    "initiator → responder over one TCP connection: node.sendAndReceive(route(connection, \"echoer\"), payload), " +
    "one outstanding; the echoer is placed \"main\" and sends the payload back undecoded. Two child processes." + windowNote(SHARE),
  params: ["size"],
  baseline: "baseline/tcp-framed-rtt",
  run: (p, signal) => hopwireRoundTrip(windowed(p, SHARE), signal, { echoer: "main" }),
});

registerScenario({
  name: "tcp/one-hop-throughput",
  description:
    "initiator → responder over one TCP connection, one way: size-byte raw payloads (Context.forward of a LocalMessage) to a counting sink " +
    "placed \"main\", ~64 KiB per turn, pausing while connection.needsDrain. The sink measures. Two child processes." + windowNote(SHARE),
  params: ["size"],
  baseline: "baseline/tcp-framed",
  chart: { series: "hopwire TCP" },
  run: (p, signal) => hopwireOneWay(windowed(p, SHARE), signal, {}),
});

registerScenario({
  name: "tcp/relay-throughput",
  description:
    "initiator → middle → responder, one way, as the seed's three nodes: the middle runs the examples' hello Relay " +
    "\"forward_to_bob\" on its own thread (quiet). Sender as in tcp/one-hop-throughput plus a 4 MiB end-to-end ack " +
    "window (the sink's acks come back through the relay). Three child processes." + windowNote(SHARE),
  params: ["size"],
  baseline: "baseline/tcp-proxy",
  run: (p, signal) => hopwireOneWay(windowed(p, SHARE), signal, { viaRelay: true }, { ackWindow: true }),
});
