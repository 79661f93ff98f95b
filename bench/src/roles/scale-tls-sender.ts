// Role: the sender of scale/tls-streams. `count` mutually authenticated TLS 1.3 connections
// to the sink (opened `concurrency` at a time, not measured), then 1 KiB messages, each a
// u32-length frame, round-robin over the connections, as scale/channels' initiator sends over
// its channels: about TURN_BYTES per event-loop turn, each connection written to corked for
// the turn (its frames leave in one write, as a channel's share one record), and while the
// connection next in turn needs drain, it waits for that one's 'drain'. It runs until the
// harness says stop; the sink ending its window closes the connections first, which is the
// normal end.
import type tls from "node:tls";
import { performance } from "node:perf_hooks";
import { runBenchChild } from "../proc/child.js";
import { connectMutualTls, mutualTlsClientContext, type MutualTlsTarget } from "../net/mutual-tls.js";
import { drainedOrClosed } from "../net/endpoints.js";

export interface ScaleTlsSenderParams extends MutualTlsTarget {
  count: number;
  size: number;
  /** Handshakes in flight while opening the connections. */
  concurrency: number;
}
export interface ScaleTlsSenderReady {
  /** How long opening the connections took. */
  openMs: number;
}
export interface ScaleTlsSenderResult {
  sent: number;
}

const TURN_BYTES = 64 * 1024;

/** Opens `count` connections, `concurrency` handshakes at a time. */
async function openAll(p: ScaleTlsSenderParams): Promise<tls.TLSSocket[]> {
  const context = mutualTlsClientContext(p);
  const sockets: tls.TLSSocket[] = [];
  while (sockets.length < p.count) {
    const wave = Math.min(p.concurrency, p.count - sockets.length);
    sockets.push(...(await Promise.all(Array.from({ length: wave }, () => connectMutualTls(p, context)))));
  }
  return sockets;
}

runBenchChild<ScaleTlsSenderParams, ScaleTlsSenderReady, ScaleTlsSenderResult>(async (p, io) => {
  const t0 = performance.now();
  const sockets = await openAll(p);
  let gone = false;
  for (const socket of sockets) {
    socket.on("error", () => {});
    socket.once("close", () => (gone = true));
  }
  io.ready({ openMs: performance.now() - t0 });

  const frame = Buffer.alloc(4 + p.size, 0xab);
  frame.writeUInt32BE(p.size, 0);
  const perTurn = Math.ceil(TURN_BYTES / p.size);
  const corked: tls.TLSSocket[] = [];
  let sent = 0;
  let next = 0;
  const uncorkAll = (): void => {
    for (const socket of corked) socket.uncork();
    corked.length = 0;
  };
  while (!io.stop.aborted && !gone) {
    let full: tls.TLSSocket | undefined;
    for (let i = 0; i < perTurn; i++) {
      const socket = sockets[next]!;
      if (socket.writableNeedDrain) {
        full = socket;
        break;
      }
      if (socket.writableCorked === 0) {
        socket.cork();
        corked.push(socket);
      }
      socket.write(frame);
      next = next + 1 === sockets.length ? 0 : next + 1;
      sent++;
    }
    uncorkAll();
    if (full !== undefined) await drainedOrClosed(full);
    else await new Promise((resolve) => setImmediate(resolve));
  }
  // The sink's window is over (it ended, closing the connections) or the harness stopped us.
  if (!io.stop.aborted) await new Promise<void>((resolve) => io.stop.addEventListener("abort", () => resolve(), { once: true }));
  for (const socket of sockets) socket.destroy();
  return { sent };
});
