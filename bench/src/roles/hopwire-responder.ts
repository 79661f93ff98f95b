// Role: the responder node (Bob). A TCP listener on 127.0.0.1:0 and, with `secure`, a
// secure channel listener "bob_listener" that consumes it (the seed's setup); then one of:
//   sink    a counting worker "sink" placed "main" (or, with sinkOnThread, on a thread of its
//           own) that measures: its window opens warmupMs after the first data message (and
//           no earlier than ~1 MiB or 2048 messages in, nor before warmMessages, see
//           warm-count.ts) and lasts durationMs (window-sink.ts)
//   echo    "echoer": placed "main" forwarding the payload back as is ("main"), or the
//           seed's Echoer on its own thread, minus its print ("seed")
//   listen  nothing more (handshake runs)
// The workers are reachable from the network only through flow controls, as in the seed.
import { performance } from "node:perf_hooks";
import { LocalMessage, node, route, type Context, type Node, type Routed, type Worker } from "@hopwire/runtime";
import { createTcpTransport, TcpListenerOptions } from "@hopwire/transport-tcp";
import { runBenchChild } from "../proc/child.js";
import { HOST, listenerOptions, loadSecureChannel, transportOptions, type SecureSpec } from "./hopwire-net.js";
import { CONTROL_MAX, QuietEchoer } from "./hopwire-workers.js";
import { busyBetween, busyMark, type BusyMark } from "../busy.js";
import { WindowSink, type SinkWindow, type WindowReport } from "./window-sink.js";

export interface ResponderParams {
  /** bulk: a sink counting from its first data message until `totalBytes` of payload have arrived. */
  mode: "sink" | "echo" | "listen" | "bulk";
  totalBytes?: number;
  secure?: SecureSpec;
  /** echo mode: which echoer. */
  echoer?: "main" | "seed";
  /** sink mode: payload bytes of each message (what the sender put in its body). */
  size?: number;
  /** sink mode: the sink on a thread of its own instead of placed "main". */
  sinkOnThread?: boolean;
  /** Multiplies the library's in-flight bounds (hopwire-net.ts transportOptions). */
  windowScale?: number;
  /** NodeOptions.busyPollMicros (default 0, off). */
  busyPollMicros?: number;
  warmupMs: number;
  /** sink mode: messages that must have arrived before the window opens (warm-count.ts). */
  warmMessages?: number;
  durationMs: number;
}
export interface ResponderReady {
  port: number;
}
export interface ResponderResult {
  messages: number;
  payloadBytes: number;
  seconds: number;
  /** The responder's main thread (transport, channel end, sink) over the window, 0…1 (busy.ts). */
  busy?: number;
  /** With sinkOnThread: the sink's thread over its window, 0…1. */
  busySinkThread?: number;
}


/** Counts data messages from the first until `totalBytes` of payload have arrived (backpressure/bulk-via-relay). */
class BulkSink implements Worker {
  #messages = 0;
  #bytes = 0;
  #first = -1;
  #resolve!: (r: SinkWindow) => void;
  readonly done = new Promise<SinkWindow>((resolve) => (this.#resolve = resolve));

  constructor(private readonly totalBytes: number) {}

  handleMessage(_ctx: Context, msg: Routed): void {
    if (msg.payload.length <= CONTROL_MAX || this.#bytes >= this.totalBytes) return;
    const now = performance.now();
    if (this.#first < 0) this.#first = now;
    this.#messages++;
    this.#bytes += msg.payload.length;
    if (this.#bytes >= this.totalBytes) this.#resolve({ messages: this.#messages, seconds: (now - this.#first) / 1e3, busy: 0 });
  }
}

/** Sends the payload back as it came (no decoding), from its own address. */
class PayloadEchoer implements Worker {
  handleMessage(ctx: Context, msg: Routed): Promise<void> {
    return ctx.forward(new LocalMessage(msg.returnRoute, route(ctx.address), msg.payload));
  }
}

/**
 * Starts a main-placed worker at `address` that a WindowSink on a thread reports to; `done`
 * is that sink's window, with the main thread's busy share over it.
 */
async function reportedWindow(n: Node, address: string, size: number): Promise<{ done: Promise<ResponderResult> }> {
  let resolve!: (r: ResponderResult) => void;
  const done = new Promise<ResponderResult>((r) => (resolve = r));
  let main0: BusyMark | undefined;
  const reporter: Worker = {
    handleMessage(_ctx: Context, msg: Routed<WindowReport>): void {
      const report = msg.body;
      if (report === "open") main0 = busyMark();
      else resolve({ ...report, payloadBytes: report.messages * size, busy: main0 ? busyBetween(main0, busyMark()) : 0, busySinkThread: report.busy });
    },
  };
  await n.startWorker(address, reporter, { placement: "main" });
  return { done };
}

runBenchChild<ResponderParams, ResponderReady, ResponderResult | null>(async (p, io) => {
  const n = await node({ name: "responder", busyPollMicros: p.busyPollMicros ?? 0 });
  try {
    const tcp = await createTcpTransport(n, transportOptions(p.windowScale));
    const listener = await tcp.listen(`${HOST}:0`, new TcpListenerOptions());
    let reachableFrom = listener.flowControlId;
    if (p.secure) {
      const sc = await loadSecureChannel();
      const bob = await sc.createIdentity();
      const scl = await sc.createSecureChannelListener(n, bob, "bob_listener", listenerOptions(sc, p.secure, p.windowScale).asConsumer(listener.flowControlId));
      reachableFrom = scl.flowControlId;
    }
    const stopped = new Promise<null>((resolve) => io.stop.addEventListener("abort", () => resolve(null), { once: true }));
    let result: Promise<ResponderResult | null> = stopped;
    if (p.mode === "sink") {
      const size = p.size ?? 0;
      // At least ~1 MiB or 2048 messages (a relay thread takes ~1000 to get up to speed), and the warm count of a full run.
      const warm = Math.max(Math.min(2048, Math.ceil(2 ** 20 / Math.max(1, size))), p.warmMessages ?? 0);
      let done: Promise<ResponderResult>;
      if (p.sinkOnThread) {
        done = (await reportedWindow(n, "window-report", size)).done;
        await n.startWorker("sink", WindowSink, { args: [p.warmupMs, p.durationMs, warm, "window-report"] });
      } else {
        const sink = new WindowSink(p.warmupMs, p.durationMs, warm);
        await n.startWorker("sink", sink, { placement: "main" });
        done = sink.done.then((r) => ({ ...r, payloadBytes: r.messages * size }));
      }
      n.flowControls.addConsumer("sink", reachableFrom);
      result = Promise.race([done, stopped]);
    } else if (p.mode === "bulk") {
      const sink = new BulkSink(p.totalBytes ?? 0);
      await n.startWorker("sink", sink, { placement: "main" });
      n.flowControls.addConsumer("sink", reachableFrom);
      result = Promise.race([sink.done.then((r) => ({ ...r, payloadBytes: r.messages * (p.size ?? 0) })), stopped]);
    } else if (p.mode === "echo") {
      if (p.echoer === "seed") await n.startWorker("echoer", QuietEchoer);
      else await n.startWorker("echoer", new PayloadEchoer(), { placement: "main" });
      n.flowControls.addConsumer("echoer", reachableFrom);
    }
    io.ready({ port: Number(listener.address.slice(listener.address.lastIndexOf(":") + 1)) });
    const r = await result;
    if (r === null && (p.mode === "sink" || p.mode === "bulk")) throw new Error("stopped before the measured window ended");
    return r;
  } finally {
    await n.stop();
  }
});
