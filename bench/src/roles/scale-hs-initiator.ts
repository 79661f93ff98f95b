// Role: the initiator of scale/handshakes-in-flight. One Hopwire node, ONE TCP connection
// to the responder, an identity made beforehand; a few sequential handshakes warm the code
// up (closed again), then `count` createSecureChannel calls start in the same turn. Each
// resolves once the responder's encrypted CONFIRM is in: both ends authenticated and
// trusting. Reports the burst's total time, the spread of the individual handshakes, and
// failures (the scenario fails on any).
import { performance } from "node:perf_hooks";
import { node, route } from "@hopwire/runtime";
import { createTcpTransport, TcpConnectionOptions } from "@hopwire/transport-tcp";
import { createIdentity, createSecureChannel } from "@hopwire/secure-channel";
import { runBenchChild } from "../proc/child.js";
import { percentile, type BurstResult } from "./scale-common.js";

export interface HandshakeBurstParams {
  port: number;
  count: number;
  warmupHandshakes: number;
}

// (No abort handling: on abort the harness kills the process.)
runBenchChild<HandshakeBurstParams, null, BurstResult>(async (p, io) => {
  const n = await node();
  const tcp = await createTcpTransport(n);
  const connection = await tcp.connect(`127.0.0.1:${p.port}`, new TcpConnectionOptions());
  const alice = await createIdentity();
  const to = route(connection, "listener");
  // Default options: a handshake that takes over 10 s (the default timeout) is a failure.
  for (let i = 0; i < p.warmupHandshakes; i++) await (await createSecureChannel(n, alice, to)).close();
  io.ready(null);

  const took: number[] = [];
  const errors: string[] = [];
  const t0 = performance.now();
  let last = t0;
  await Promise.all(
    Array.from({ length: p.count }, () =>
      createSecureChannel(n, alice, to).then(
        () => {
          last = performance.now();
          took.push(last - t0);
        },
        (e: unknown) => void errors.push(e instanceof Error ? `${e.name}: ${e.message}` : String(e)),
      ),
    ),
  );
  const result: BurstResult = {
    count: p.count,
    totalMs: last - t0,
    p50Ms: took.length ? percentile(took, 50) : NaN,
    p99Ms: took.length ? percentile(took, 99) : NaN,
    failures: errors.length,
  };
  if (errors[0] !== undefined) result.firstError = errors[0];
  await n.stop();
  return result;
});
