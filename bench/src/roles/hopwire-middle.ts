// Role: the middle node of the seed (examples/src/05-...-middle.ts): a TCP connection to
// the responder, the examples' hello Relay "forward_to_bob" on its own thread (quiet: no
// line per message), and a TCP listener whose connections may reach the relay. It ends
// when the responder goes away or the harness says stop.
import { node, route } from "@hopwire/runtime";
import { createTcpTransport, TcpConnectionOptions, TcpListenerOptions } from "@hopwire/transport-tcp";
import { runBenchChild } from "../proc/child.js";
import { HOST, loadRelay } from "./hopwire-net.js";
import { awaitPublished } from "./hopwire-rendezvous.js";

export interface MiddleParams {
  /** Where the responder's port is published (hopwire-rendezvous.ts). */
  targetPortFile: string;
}
export interface MiddleReady {
  port: number;
}

runBenchChild<MiddleParams, MiddleReady, null>(async (p, io) => {
  const Relay = await loadRelay();
  const n = await node({ name: "middle" });
  try {
    const tcp = await createTcpTransport(n);
    const targetPort = await awaitPublished<number>(p.targetPortFile, io.stop);
    const toBob = await tcp.connect(`${HOST}:${targetPort}`, new TcpConnectionOptions());
    await n.startWorker("forward_to_bob", Relay, { args: [route(toBob), { quiet: true }] });
    const listener = await tcp.listen(`${HOST}:0`, new TcpListenerOptions());
    n.flowControls.addConsumer("forward_to_bob", listener.flowControlId);
    io.ready({ port: Number(listener.address.slice(listener.address.lastIndexOf(":") + 1)) });
    await Promise.race([
      toBob.whenClosed(),
      new Promise((resolve) => io.stop.addEventListener("abort", resolve, { once: true })),
    ]);
    return null;
  } finally {
    await n.stop();
  }
});
