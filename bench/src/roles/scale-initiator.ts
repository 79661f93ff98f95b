// Role: the initiator of scale/channels. One Hopwire node, ONE TCP connection to the
// responder; with `channels`, `count` secure channels to its "listener" over that
// connection (opened `concurrency` at a time, not measured; once half are open, it asks the
// responder's HALFWAY_ADDRESS worker straight over TCP and waits for its reply, so that the
// responder reads its memory with no handshake in flight). Then it sends 1 KiB messages
// to "sink", round-robin over the channels (or straight over TCP: the baseline), as fast as
// backpressure allows: about TURN_BYTES per event-loop turn; while the connection is over its
// high-water mark, or the channel next in turn has a full send queue (`needsDrain`), it waits
// for that one's `waitForDrain()`, as a streaming user does.
// It runs until the harness says stop.
import { performance } from "node:perf_hooks";
import { node, route, type Route } from "@hopwire/runtime";
import { createTcpTransport, TcpConnectionOptions } from "@hopwire/transport-tcp";
import { createIdentity, createSecureChannel, type SecureChannel } from "@hopwire/secure-channel";
import { runBenchChild } from "../proc/child.js";
import { HALFWAY_ADDRESS, halfOf } from "./scale-common.js";

export interface ScaleInitiatorParams {
  port: number;
  channels: boolean;
  count: number;
  size: number;
  /** Handshakes in flight while opening the channels. */
  concurrency: number;
}
export interface ScaleInitiatorReady {
  /** How long opening the channels took. */
  openMs: number;
}
export interface ScaleInitiatorResult {
  sent: number;
}

const TURN_BYTES = 64 * 1024;

runBenchChild<ScaleInitiatorParams, ScaleInitiatorReady, ScaleInitiatorResult>(async (p, io) => {
  const n = await node();
  const tcp = await createTcpTransport(n);
  const connection = await tcp.connect(`127.0.0.1:${p.port}`, new TcpConnectionOptions());
  const t0 = performance.now();
  const routes: Route[] = [];
  const hops: (SecureChannel | undefined)[] = [];
  if (p.channels) {
    const alice = await createIdentity();
    const to = route(connection, "listener");
    const half = halfOf(p.count);
    for (let opened = 0; opened < p.count; ) {
      // Waves stop at the halfway mark too: no handshake is in flight when the responder reads.
      const wave = Math.min(p.concurrency, (opened < half ? half : p.count) - opened);
      const channels = await Promise.all(
        Array.from({ length: wave }, () => createSecureChannel(n, alice, to)),
      );
      for (const channel of channels) {
        routes.push(route(channel, "sink"));
        hops.push(channel);
      }
      opened += wave;
      if (opened === half) await n.sendAndReceive(route(connection, HALFWAY_ADDRESS), null);
    }
  } else {
    routes.push(route(connection, "sink"));
    hops.push(undefined);
  }
  io.ready({ openMs: performance.now() - t0 });

  const payload = new Uint8Array(p.size).fill(0xab);
  const perTurn = Math.ceil(TURN_BYTES / p.size);
  let sent = 0;
  let next = 0;
  let failure: Error | undefined;
  let wake!: () => void;
  const finished = new Promise<void>((resolve) => (wake = resolve));
  const fail = (e: unknown): void => {
    failure ??= e instanceof Error ? e : new Error(String(e));
    wake();
  };
  io.stop.addEventListener("abort", () => wake(), { once: true });
  const pump = (): void => {
    if (io.stop.aborted || failure) return;
    for (let i = 0; i < perTurn; i++) {
      const full = connection.needsDrain ? connection : hops[next]?.needsDrain ? hops[next] : undefined;
      if (full !== undefined) return void full.waitForDrain().then(pump, fail);
      n.send(routes[next]!, payload).catch(fail);
      next = next + 1 === routes.length ? 0 : next + 1;
      sent++;
    }
    setImmediate(pump);
  };
  pump();
  await finished;
  if (failure && !io.stop.aborted) {
    // After the responder's window its process ends, and sends fail before the harness's stop
    // arrives: that is the normal end. A failure with the responder still there is not.
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 2000);
      io.stop.addEventListener("abort", () => (clearTimeout(timer), resolve()), { once: true });
    });
    if (!io.stop.aborted && !connection.isClosed) throw failure;
  }
  await n.stop();
  return { sent };
});
