// Role: the responder of scale/channels and scale/handshakes-in-flight. One Hopwire node:
// a TCP listener on 127.0.0.1 port 0 and, with `channels`, a secure channel listener
// "listener" (consumer of the TCP listener's flow). With `sink`, a CountingSink at "sink",
// reachable through the channels (or, without channels, straight from TCP: the baseline).
//
// Memory: the resident set is read after a full GC once everything is set up (no channel
// yet), again when half the channels are open (the initiator asks HALFWAY_ADDRESS, straight
// over TCP, and waits for the reply before it opens the rest), and again, after a full GC,
// when the first data message arrives: every channel is open by then and no traffic has
// flowed. The halfway and idle readings give the marginal cost of a channel, with the fixed
// costs (in both) left out. Per channel, "idle" is the difference / count and
// "peak" is (peak RSS of the whole run − the zero-channel reading) / count. The young
// generation's size is read with each: opening the channels grows it (a fixed cost, up to
// 32 MiB, whatever the count), which is reported beside the per-channel figures. The live
// JS heap is read with each too.
import { node } from "@hopwire/runtime";
import { createTcpTransport, TcpListenerOptions } from "@hopwire/transport-tcp";
import { createIdentity, createSecureChannelListener, DEFAULT_MAX_CHANNELS_PER_CONNECTION, SecureChannelListenerOptions } from "@hopwire/secure-channel";
import { runBenchChild } from "../proc/child.js";
import type { Context, Routed } from "@hopwire/runtime";
import { CountingSink, HALFWAY_ADDRESS, peakRss, settledRss, youngGenerationBytes, type WindowCount } from "./scale-common.js";

export interface ScaleResponderParams {
  channels: boolean;
  /** Count the messages at "sink" over a window; without it, wait for the harness's stop. */
  sink: boolean;
  /** Channels the initiator opens: the divisor of the per-channel memory. */
  count: number;
  size: number;
  warmupMs: number;
  /** The window also waits for this many messages (warm-count.ts; 0 in a quick run). */
  warmMessages?: number;
  durationMs: number;
}
export interface ScaleResponderReady {
  port: number;
}
export interface ScaleResponderResult {
  window?: WindowCount;
  rssZeroBytes: number;
  rssIdleBytes?: number;
  rssPeakBytes: number;
  /** V8's young generation at the zero-channel and the idle reading. */
  youngZeroBytes: number;
  youngIdleBytes?: number;
  /** Live JS heap (after the same full GCs) at the zero-channel and the idle reading. */
  heapZeroBytes: number;
  heapIdleBytes?: number;
  /** The same three readings when the initiator had opened `halfCount` channels (see HALFWAY_ADDRESS). */
  halfway?: MemoryReading & { halfCount: number };
}

/** Resident set (after a full GC), V8's young generation and the live JS heap, at one moment. */
export interface MemoryReading {
  rssBytes: number;
  youngBytes: number;
  heapBytes: number;
}

function readMemory(): MemoryReading {
  const rssBytes = settledRss();
  return { rssBytes, youngBytes: youngGenerationBytes(), heapBytes: process.memoryUsage().heapUsed };
}

const NO_BYTES = new Uint8Array(0);

runBenchChild<ScaleResponderParams, ScaleResponderReady, ScaleResponderResult>(async (p, io) => {
  const n = await node();
  const tcp = await createTcpTransport(n);
  const listener = await tcp.listen("127.0.0.1:0", new TcpListenerOptions());
  const sink = p.sink ? new CountingSink(p.size, p.warmupMs, p.durationMs, p.warmMessages ?? 0) : undefined;
  if (sink) await n.startWorker("sink", sink, { placement: "main" });
  let halfway: ScaleResponderResult["halfway"];
  if (p.channels) {
    const bob = await createIdentity();
    // All of them come over the initiator's one connection: past the default 1,024 a connection, it is raised to fit.
    const options = new SecureChannelListenerOptions().asConsumer(listener.flowControlId).withMaxChannelsPerConnection(Math.max(p.count, DEFAULT_MAX_CHANNELS_PER_CONNECTION));
    const scl = await createSecureChannelListener(n, bob, "listener", options);
    if (sink) n.flowControls.addConsumer("sink", scl.flowControlId);
    const reader = {
      handleMessage(ctx: Context, msg: Routed): Promise<void> {
        halfway = { ...readMemory(), halfCount: scl.channelCount };
        // A bytes reply: a structured one would load msgpackr here, between the readings (≈ 0.5 MB, not the channels').
        return ctx.send(msg.returnRoute, NO_BYTES);
      },
    };
    await n.startWorker(HALFWAY_ADDRESS, reader, { placement: "main" });
    n.flowControls.addConsumer(HALFWAY_ADDRESS, listener.flowControlId);
  } else if (sink) {
    n.flowControls.addConsumer("sink", listener.flowControlId);
  }
  const rssZeroBytes = sink ? settledRss() : process.memoryUsage.rss();
  const youngZeroBytes = youngGenerationBytes();
  const heapZeroBytes = process.memoryUsage().heapUsed;
  let rssIdleBytes: number | undefined;
  let youngIdleBytes: number | undefined;
  let heapIdleBytes: number | undefined;
  if (sink) {
    sink.onFirst = () => {
      rssIdleBytes = settledRss();
      youngIdleBytes = youngGenerationBytes();
      heapIdleBytes = process.memoryUsage().heapUsed;
    };
  }
  const stopped = new Promise<undefined>((resolve) => io.stop.addEventListener("abort", () => resolve(undefined), { once: true }));
  io.ready({ port: Number(listener.address.slice(listener.address.lastIndexOf(":") + 1)) });
  const window = await Promise.race([sink?.done ?? stopped, stopped]);
  if (sink && !window) throw new Error("stopped before the sink's window ended");
  const result: ScaleResponderResult = { rssZeroBytes, rssPeakBytes: peakRss(), youngZeroBytes, heapZeroBytes };
  if (window) result.window = window;
  if (rssIdleBytes !== undefined) result.rssIdleBytes = rssIdleBytes;
  if (youngIdleBytes !== undefined) result.youngIdleBytes = youngIdleBytes;
  if (heapIdleBytes !== undefined) result.heapIdleBytes = heapIdleBytes;
  if (halfway !== undefined) result.halfway = halfway;
  // With a sink, the process just ends: stopping the node would close every channel one by
  // one while the initiator is still sending into them. The initiator sees the connection go.
  if (!sink) await n.stop();
  return result;
});
