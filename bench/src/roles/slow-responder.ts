// Role: the receiving node of backpressure/slow-consumer. A TCP listener, a secure channel
// listener, and the SlowWorker "slow" on its own thread (one 1 KiB message per 10 ms); its
// count arrives at "meter" (placed "main"). Samples RSS and the delivered count until the
// harness says stop.
import { node, type Context, type Routed, type Worker } from "@hopwire/runtime";
import { createTcpTransport, TcpListenerOptions } from "@hopwire/transport-tcp";
import { runBenchChild } from "../proc/child.js";
import { Sampler, type Sample } from "../sampler.js";
import { HOST, listenerOptions, loadSecureChannel } from "./hopwire-net.js";
import { SlowWorker } from "./hopwire-workers.js";

export interface SlowResponderParams {
  sampleMs: number;
}
export interface SlowReady {
  port: number;
}
export interface SlowReceiverResult {
  samples: Sample[];
}

/** Keeps the slow worker's last reported count. */
class Meter implements Worker {
  delivered = 0;
  handleMessage(_ctx: Context, msg: Routed): void {
    const n = msg.body;
    if (typeof n === "number" && n > this.delivered) this.delivered = n;
  }
}

runBenchChild<SlowResponderParams, SlowReady, SlowReceiverResult>(async (p, io) => {
  const n = await node({ name: "slow-responder" });
  try {
    const tcp = await createTcpTransport(n);
    const listener = await tcp.listen(`${HOST}:0`, new TcpListenerOptions());
    const sc = await loadSecureChannel();
    const bob = await sc.createIdentity();
    const secure = { provider: "node", cryptoThreads: 0 } as const;
    const scl = await sc.createSecureChannelListener(n, bob, "bob_listener", listenerOptions(sc, secure).asConsumer(listener.flowControlId));
    const meter = new Meter();
    await n.startWorker("meter", meter, { placement: "main" });
    await n.startWorker("slow", SlowWorker, { args: ["meter"] });
    n.flowControls.addConsumer("slow", scl.flowControlId);
    const sampler = new Sampler(p.sampleMs, () => meter.delivered);
    io.ready({ port: Number(listener.address.slice(listener.address.lastIndexOf(":") + 1)) });
    await new Promise((resolve) => io.stop.addEventListener("abort", resolve, { once: true }));
    return { samples: sampler.stop() };
  } finally {
    await n.stop();
  }
});
