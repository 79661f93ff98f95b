// Soak middle, as the guide's middle node: a connection to the responder that reconnects
// when the responder restarts (withReconnect), the guide's Relay "forward_to_bob" on it,
// and a listener whose connections may reach the relay. Exits (status 3) when the first
// connection to the responder cannot be made, so that the orchestrator starts it again.
import { node, route } from "@hopwire/runtime";
import { createTcpTransport, TcpConnectionOptions, TcpListenerOptions } from "@hopwire/transport-tcp";
import { Relay } from "../../examples/dist/hello/relay.js";

const [listenPort, responderPort] = process.argv.slice(2);
const n = await node({ name: "soak-middle" });
const tcp = await createTcpTransport(n);
let connectionToBob;
try {
  connectionToBob = await tcp.connect(`127.0.0.1:${responderPort}`, new TcpConnectionOptions().withReconnect({ initialDelay: 100, maxDelay: 1_000 }));
} catch (error) {
  console.log("NO-RESPONDER", error.code ?? error.message);
  process.exit(3);
}
await n.startWorker("forward_to_bob", new Relay(route(connectionToBob)), { placement: "main" });
const listener = await tcp.listen(`127.0.0.1:${listenPort}`, new TcpListenerOptions());
n.flowControls.addConsumer("forward_to_bob", listener.flowControlId);
console.log("LISTENING", listener.address);
