// Role: the middle node of the seed (examples/src/05-...-middle.ts): a TCP connection to
// the responder, the runtime's built-in relay "forward_to_bob" (a mailbox on the main
// thread's router: no worker, no thread hop, payloads passed on as views; it pauses the
// inbound connection while the outbound one is full), and a TCP listener whose
// connections may reach the relay. It ends when the responder goes away or the harness
// says stop.
import { node, route, startRelay } from "@hopwire/runtime";
import { createTcpTransport, TcpConnectionOptions, TcpListenerOptions } from "@hopwire/transport-tcp";
import { runBenchChild } from "../proc/child.js";
import { HOST, transportOptions } from "./hopwire-net.js";
import { awaitPublished } from "./hopwire-rendezvous.js";

export interface MiddleParams {
  /** Where the responder's port is published (hopwire-rendezvous.ts). */
  targetPortFile: string;
  /** Multiplies the library's in-flight bounds (hopwire-net.ts transportOptions). */
  windowScale?: number;
  /** NodeOptions.busyPollMicros (default 0, off). */
  busyPollMicros?: number;
}
export interface MiddleReady {
  port: number;
}

runBenchChild<MiddleParams, MiddleReady, null>(async (p, io) => {
  const n = await node({ name: "middle", busyPollMicros: p.busyPollMicros ?? 0 });
  try {
    const tcp = await createTcpTransport(n, transportOptions(p.windowScale));
    const targetPort = await awaitPublished<number>(p.targetPortFile, io.stop);
    const toBob = await tcp.connect(`${HOST}:${targetPort}`, new TcpConnectionOptions());
    await startRelay(n, "forward_to_bob", route(toBob));
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
