// Role: the client of scale/tls-handshakes-in-flight. A few sequential connections warm
// the code up (closed again), then `count` connections start in the same turn: TCP
// connect, a TLS 1.3 handshake presenting the client certificate and verifying the
// server's, then one 1-byte round trip (the server has verified the client by then). Same
// report as the Hopwire burst. One SecureContext serves every connection, as in
// baseline/tls-handshakes: Hopwire loads its identity once, not per channel, and
// tls.connect given ca/cert/key builds a context per call (~1.2 ms of CPU each, most of a
// handshake's client-side cost again).
import type tls from "node:tls";
import { performance } from "node:perf_hooks";
import { runBenchChild } from "../proc/child.js";
import { connectMutualTls, mutualTlsClientContext, type MutualTlsTarget } from "../net/mutual-tls.js";
import { percentile, type BurstResult } from "./scale-common.js";

export interface TlsBurstClientParams extends MutualTlsTarget {
  count: number;
  warmupHandshakes: number;
}

const ONE_BYTE = Buffer.from([0x2a]);

/** One 1-byte round trip on an open connection: the server has verified the client once it answers. */
function roundTrip(socket: tls.TLSSocket): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const fail = (e: Error): void => {
      socket.destroy();
      reject(e);
    };
    socket.once("error", fail);
    socket.once("close", () => fail(new Error("closed before the round trip")));
    socket.once("data", () => resolve(socket));
    socket.write(ONE_BYTE);
  });
}

/** Connect, handshake, one round trip; resolves with the open socket. */
const handshake = (p: TlsBurstClientParams, context: tls.SecureContext): Promise<tls.TLSSocket> => connectMutualTls(p, context).then(roundTrip);

// (No abort handling: on abort the harness kills the process.)
runBenchChild<TlsBurstClientParams, null, BurstResult>(async (p, io) => {
  const context = mutualTlsClientContext(p);
  for (let i = 0; i < p.warmupHandshakes; i++) (await handshake(p, context)).destroy();
  io.ready(null);
  const took: number[] = [];
  const errors: string[] = [];
  const sockets: tls.TLSSocket[] = [];
  const t0 = performance.now();
  let last = t0;
  await Promise.all(
    Array.from({ length: p.count }, () =>
      handshake(p, context).then(
        (socket) => {
          last = performance.now();
          took.push(last - t0);
          sockets.push(socket);
        },
        (e: unknown) => void errors.push(e instanceof Error ? e.message : String(e)),
      ),
    ),
  );
  for (const socket of sockets) {
    socket.removeAllListeners("close");
    socket.destroy();
  }
  const result: BurstResult = {
    count: p.count,
    totalMs: last - t0,
    p50Ms: took.length ? percentile(took, 50) : NaN,
    p99Ms: took.length ? percentile(took, 99) : NaN,
    failures: errors.length,
  };
  if (errors[0] !== undefined) result.firstError = errors[0];
  return result;
});
