// Role: the sending node of backpressure/slow-consumer: one secure channel over one TCP
// connection to the slow responder, then 1 KiB messages to route(channel, "slow") as fast
// as backpressure allows — a turn's worth (~64 KiB) per event-loop turn, the turn's last
// send awaited (once the runtime has backpressure it resolves only when the first hop has
// room), never while the connection needsDrain. No application window: what bounds memory
// here is the stack's own backpressure, which is what the scenario shows. Samples RSS and
// the sent count until the harness says stop (or the path closes).
import { node, route } from "@hopwire/runtime";
import { createTcpTransport, TcpConnectionOptions } from "@hopwire/transport-tcp";
import { runBenchChild } from "../proc/child.js";
import { Sampler, type Sample } from "../sampler.js";
import { channelOptions, HOST, loadSecureChannel, nextTurn } from "./hopwire-net.js";

export interface SlowSenderParams {
  port: number;
  size: number;
  sampleMs: number;
}
export interface SlowSenderResult {
  samples: Sample[];
  /** Why sending stopped early, if it did (an error the sender saw). */
  error?: string;
}

const TURN_BYTES = 64 * 1024;

runBenchChild<SlowSenderParams, null, SlowSenderResult>(async (p, io) => {
  const n = await node({ name: "slow-sender" });
  try {
    const tcp = await createTcpTransport(n);
    const connection = await tcp.connect(`${HOST}:${p.port}`, new TcpConnectionOptions());
    const sc = await loadSecureChannel();
    const alice = await sc.createIdentity();
    const channel = await sc.createSecureChannel(n, alice, route(connection, "bob_listener"), channelOptions(sc, { provider: "node", cryptoThreads: 0 }));
    const to = route(channel, "slow");
    const payload = new Uint8Array(p.size).fill(0xab);
    const perTurn = Math.max(1, Math.floor(TURN_BYTES / p.size));
    let sent = 0;
    let error: string | undefined;
    // A send still waiting for room when the harness says stop is aborted: not an error.
    const onError = (e: unknown): void => void (io.stop.aborted || (error ??= e instanceof Error ? e.message : String(e)));
    const sampler = new Sampler(p.sampleMs, () => sent);
    io.ready(null);
    while (!io.stop.aborted && error === undefined && !channel.isClosed && !connection.isClosed) {
      let last: Promise<void> | undefined;
      for (let k = 0; k < perTurn && !connection.needsDrain; k++, sent++) last = n.send(to, payload, { signal: io.stop }).catch(onError);
      await last;
      if (connection.needsDrain) await connection.waitForDrain().catch(() => {});
      else await nextTurn();
    }
    return { samples: sampler.stop(), ...(error !== undefined ? { error } : {}) };
  } finally {
    await n.stop();
  }
});
