// Role: the client of peers/libp2p-rtt. One stream to the echo listener, exactly one
// u32-length frame outstanding, each round trip timed with hrtime into the same native
// histogram as rtt-client.ts; the warm-up is discarded, then the stream is closed.
import { performance } from "node:perf_hooks";
import { multiaddr } from "@multiformats/multiaddr";
import { runBenchChild } from "../proc/child.js";
import { FrameReader } from "../net/frames.js";
import { LatencyRecorder } from "../histogram.js";
import { summarizeRoundTrips } from "../metrics.js";
import { buffersOf, createNode, PROTOCOL, stopNode, PushSource } from "./libp2p-node.js";
import type { RttClientResult } from "./rtt-client.js";

export interface Libp2pRttParams {
  addr: string;
  size: number;
  warmupMs: number;
  durationMs: number;
}

runBenchChild<Libp2pRttParams, null, RttClientResult>(async (p, io) => {
  const node = await createNode(false);
  const stream = await node.dialProtocol(multiaddr(p.addr), PROTOCOL);
  io.ready(null);
  const frame = Buffer.alloc(4 + p.size, 0xab);
  frame.writeUInt32BE(p.size, 0);
  const latency = new LatencyRecorder();
  const out = new PushSource();
  const warmupEnd = performance.now() + p.warmupMs;
  let measuring = false;
  let start = 0;
  let sentAt = 0n;
  let finishedAt = -1;

  const send = (): void => {
    sentAt = process.hrtime.bigint();
    out.push(frame);
  };
  const reader = new FrameReader(() => {
    const elapsed = process.hrtime.bigint() - sentAt;
    const now = performance.now();
    if (measuring) {
      latency.recordNs(elapsed);
      if (now >= start + p.durationMs) {
        finishedAt = now;
        out.end();
        return;
      }
    } else if (now >= warmupEnd) {
      measuring = true;
      start = now;
    }
    send();
  });

  const writing = stream.sink(out);
  io.stop.addEventListener("abort", () => stream.abort(new Error("stopped")));
  send();
  for await (const list of stream.source) {
    for (const chunk of buffersOf(list)) reader.push(chunk);
    if (finishedAt >= 0) break;
  }
  if (finishedAt < 0) throw new Error(io.stop.aborted ? "stopped" : "the stream closed before the window ended");
  await writing.catch(() => {});
  await stopNode(node);
  return summarizeRoundTrips(latency, (finishedAt - start) / 1e3);
});
