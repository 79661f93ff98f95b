// Role: the initiator node (Alice). Connects to the published port (the responder, or the middle node
// when `hops` names its relay) and, with `secure`, creates a secure channel to
// "bob_listener" over that route (the seed's createSecureChannel). Then:
//   send        one-way: `size`-byte raw payloads to "sink" (Context.forward; with `body`, bytes bodies
//               with Context.send, as users stream) as fast as allowed —
//               ~64 KiB per event-loop turn, awaiting the turn's last send (once the runtime
//               resolves only when the first hop has room), never while the channel (when there
//               is one) or the first connection needsDrain (waitForDrain). No window of its own: the library's bounds (a
//               connection's send high-water mark, a relay that stops reading while its next
//               hop is full, a channel's credit) are what hold every node's memory, as TCP's
//               are the baselines'. (An end-to-end ack window used to sit on top; at 64 B it
//               paced the relay and channel runs — 1.1 M msg/s against 2.0 M without it,
//               bench/src/probe/relay-cpu.ts --window — while doubling it changed nothing.)
//               `windowScale` multiplies those bounds (check/window-*). Runs until the
//               responder goes away or the harness says stop.
//   rtt         sendAndReceive(route(..., "echoer"), payload), one outstanding; hrtime
//               latencies after warmupMs, for durationMs.
//   handshakes  createSecureChannel over one hop, `inFlight` at a time, each closed once
//               confirmed; completions counted after warmupMs and warmHandshakes, for durationMs.
import { performance } from "node:perf_hooks";
import { LocalMessage, node, route, type Context, type Route, type Worker } from "@hopwire/runtime";
import { createTcpTransport, TcpConnectionOptions, type TcpConnection } from "@hopwire/transport-tcp";
import type { SecureChannel } from "@hopwire/secure-channel";
import { countCompletions } from "../completion-window.js";
import { busyBetween, busyMark, type BusyMark } from "../busy.js";
import { warmedUp } from "../warm-count.js";
import { runBenchChild } from "../proc/child.js";
import { LatencyRecorder } from "../histogram.js";
import { stillWarming, summarizeRoundTrips, type RoundTripSummary } from "../metrics.js";
import { channelOptions, HOST, hopNeedingDrain, loadSecureChannel, nextTurn, transportOptions, type SecureSpec } from "./hopwire-net.js";
import { awaitPublished } from "./hopwire-rendezvous.js";
import { ThreadStreamSender, type StreamOrder } from "./hopwire-workers.js";

export interface InitiatorParams {
  /** bulk: `totalBytes` of `size`-byte payloads to "sink", each send awaited before the next (the plain loop). */
  mode: "send" | "rtt" | "handshakes" | "bulk";
  totalBytes?: number;
  /** Where the port to dial is published (hopwire-rendezvous.ts): the responder's, or the middle's. */
  portFile: string;
  /** Relays between the first connection and the far node, e.g. ["forward_to_bob"]. */
  hops: string[];
  secure?: SecureSpec;
  size: number;
  warmupMs: number;
  /** rtt: round trips made before the window, whatever warmupMs says (see WARM_ROUND_TRIPS). */
  warmRoundTrips?: number;
  /** send: the sink's warm count (warm-count.ts); the busy share starts once this many are sent, as the sink's window does once they arrive. */
  warmMessages?: number;
  durationMs: number;
  /** send: multiplies the library's in-flight bounds (hopwire-net.ts transportOptions). */
  windowScale?: number;
  /** send: each payload as a bytes body, `ctx.trySend(to, payload)` (the docs' streaming loop), not a forwarded raw payload. */
  body?: boolean;
  /** send: that loop run by a worker on a thread of its own (ThreadStreamSender), as a multi-core node streams. */
  senderOnThread?: boolean;
  /** handshakes: handshakes in flight. */
  inFlight?: number;
  /** handshakes: handshakes completed before the window, whatever warmupMs says (see WARM_HANDSHAKES). */
  warmHandshakes?: number;
  /** NodeOptions.busyPollMicros (default 0, off). */
  busyPollMicros?: number;
}
export interface SendResult {
  sent: number;
  /** The initiator's main thread from the end of its warm-up to the end of the run, 0…1 (busy.ts). */
  busy: number;
}
export interface HandshakeResult {
  handshakes: number;
  seconds: number;
}
export type InitiatorResult = SendResult | RoundTripSummary | HandshakeResult;

/** Payload bytes queued per event-loop turn (the raw TCP sender's batch). */
const TURN_BYTES = 64 * 1024;

/** The return route of every data message; nothing comes back on it. */
class Source implements Worker {
  ctx!: Context;

  initialize(ctx: Context): void {
    this.ctx = ctx;
  }

  handleMessage(): void {}
}

/** The end of the road for a sender: its connection, or its channel when it has one. */
interface Path {
  connection: TcpConnection;
  channel?: SecureChannel;
}
const pathClosed = (path: Path): boolean => path.connection.isClosed || path.channel?.isClosed === true;

async function send(p: InitiatorParams, n: Awaited<ReturnType<typeof node>>, path: Path, to: Route, stop: AbortSignal): Promise<SendResult> {
  if (p.senderOnThread) return sendFromThread(p, n, path, to, stop);
  const connection = path.connection;
  const source = new Source();
  await n.startWorker("source", source, { placement: "main" });
  const ctx = source.ctx;
  // The payload travels as raw bytes (Context.forward of a LocalMessage, no msgpack body
  // encoding), like the bytes the TCP and TLS baselines write. Messages are immutable, so
  // one serves every send. With `body`, as a user streams bytes: ctx.send of a bytes body
  // (msgpack's bin header in front), one buffer for every send.
  const payload = new Uint8Array(p.size).fill(0xab);
  const message = new LocalMessage(to, route(ctx.address), payload);
  const body = p.body === true;
  const perTurn = Math.max(1, Math.floor(TURN_BYTES / p.size));
  let sent = 0;
  let failure: unknown;
  const fail = (e: unknown): void => {
    failure ??= e;
  };
  const over = (): boolean => stop.aborted || pathClosed(path) || failure !== undefined;
  const started = performance.now();
  let busy0: BusyMark | undefined;
  const trySendOne = body ? (): boolean => ctx.trySend(to, payload) : (): boolean => ctx.tryForward(message);
  const sendOne = body ? (): Promise<void> => ctx.send(to, payload) : (): Promise<void> => ctx.forward(message);
  while (!over()) {
    let last: Promise<void> | undefined;
    let full: SecureChannel | TcpConnection | undefined;
    for (let k = 0; k < perTurn && (full = hopNeedingDrain(connection, path.channel)) === undefined; k++) {
      // trySend / tryForward: no promise per message; one the hop refuses waits in send / forward, in order.
      try {
        if (!trySendOne()) last = sendOne().catch(fail);
      } catch (error) {
        fail(error);
        break;
      }
      sent++;
    }
    await last;
    busy0 ??= warmedUp(performance.now(), started, p.warmupMs, sent, p.warmMessages ?? 0) ? busyMark() : undefined;
    // With the harness's stop signal: a hop that stays full (a stalled peer) must not hold the sender past the run.
    if (full !== undefined) await full.waitForDrain({ signal: stop }).catch(() => {});
    else await nextTurn();
  }
  const busy = busy0 ? busyBetween(busy0, busyMark()) : 0;
  // The run ends when the responder (which measures) goes away, closing the channel (its
  // CLOSE may come before the connection goes) and the connection; anything else is an error.
  if (failure !== undefined && !pathClosed(path) && !stop.aborted) throw failure;
  return { sent, busy };
}

/** send with the loop on a thread of its own (ThreadStreamSender); a worker on the main thread tells it when the run is over. */
async function sendFromThread(p: InitiatorParams, n: Awaited<ReturnType<typeof node>>, path: Path, to: Route, stop: AbortSignal): Promise<SendResult> {
  const over = (): boolean => stop.aborted || pathClosed(path);
  await n.startWorker("control", { handleMessage: (ctx, msg) => ctx.send(msg.returnRoute, !over()) }, { placement: "main" });
  await n.startWorker("streamer", ThreadStreamSender, { placement: "thread" });
  const order: StreamOrder = { to: to.addresses.map((a) => a.toString()), size: p.size, perTurn: Math.max(1, Math.floor(TURN_BYTES / p.size)), control: "control" };
  const sent = await n.sendAndReceive<number>("streamer", order, { timeout: Infinity });
  return { sent, busy: 0 };
}

/**
 * The plain loop a user writes — `await send` of each message, nothing else — for
 * `totalBytes`. It is bounded only if `send` waits for room (the runtime's backpressure);
 * until then it floods, and a full connection may close the channel, which fails the run
 * with the error the loop saw.
 */
async function bulk(p: InitiatorParams, n: Awaited<ReturnType<typeof node>>, path: Path, to: Route, stop: AbortSignal): Promise<SendResult> {
  const payload = new Uint8Array(p.size).fill(0xab);
  const count = Math.ceil((p.totalBytes ?? 0) / p.size);
  let sent = 0;
  for (; sent < count && !stop.aborted; sent++) await n.send(to, payload);
  // Stopping the node now could drop what is still queued: the responder ends the run
  // (its node stops, and the connections close behind it).
  await Promise.race([path.connection.whenClosed(), new Promise((resolve) => stop.addEventListener("abort", resolve, { once: true }))]);
  return { sent, busy: 0 };
}

async function roundTrips(p: InitiatorParams, n: Awaited<ReturnType<typeof node>>, to: Route): Promise<RoundTripSummary> {
  const payload = new Uint8Array(p.size).fill(0xab);
  const latency = new LatencyRecorder();
  const warmupEnd = performance.now() + p.warmupMs;
  for (let k = 0; stillWarming(k, p.warmRoundTrips ?? 0, performance.now(), warmupEnd); k++) await n.sendAndReceive(to, payload);
  const start = performance.now();
  const busyAtStart = busyMark();
  const end = start + p.durationMs;
  let now = start;
  while (now < end) {
    const t = process.hrtime.bigint();
    await n.sendAndReceive(to, payload);
    latency.recordNs(process.hrtime.bigint() - t);
    now = performance.now();
  }
  return { ...summarizeRoundTrips(latency, (now - start) / 1e3), busy: busyBetween(busyAtStart, busyMark()) };
}

async function handshakes(p: InitiatorParams, n: Awaited<ReturnType<typeof node>>, connection: TcpConnection): Promise<HandshakeResult> {
  if (!p.secure) throw new Error("handshakes need `secure`");
  const sc = await loadSecureChannel();
  const alice = await sc.createIdentity();
  const to = route(connection, ...p.hops, "bob_listener");
  const { count, seconds } = await countCompletions(async () => {
    const channel = await sc.createSecureChannel(n, alice, to, channelOptions(sc, p.secure!));
    await channel.close();
  }, { ...p, warmCount: p.warmHandshakes ?? 0 });
  return { handshakes: count, seconds };
}

runBenchChild<InitiatorParams, null, InitiatorResult>(async (p, io) => {
  if (p.secure) void loadSecureChannel(); // loads while the other nodes start
  const n = await node({ name: "initiator", sendAndReceiveTimeout: 30_000, busyPollMicros: p.busyPollMicros ?? 0 });
  try {
    const tcp = await createTcpTransport(n, transportOptions(p.windowScale));
    const port = await awaitPublished<number>(p.portFile, io.stop);
    const connection = await tcp.connect(`${HOST}:${port}`, new TcpConnectionOptions());
    io.ready(null);
    if (p.mode === "handshakes") return await handshakes(p, n, connection);
    let first: Route = route(connection, ...p.hops);
    const path: Path = { connection };
    if (p.secure) {
      const sc = await loadSecureChannel();
      const alice = await sc.createIdentity();
      path.channel = await sc.createSecureChannel(n, alice, route(first, "bob_listener"), channelOptions(sc, p.secure, p.windowScale));
      first = route(path.channel);
    }
    if (p.mode === "rtt") return await roundTrips(p, n, route(first, "echoer"));
    if (p.mode === "bulk") return await bulk(p, n, path, route(first, "sink"), io.stop);
    return await send(p, n, path, route(first, "sink"), io.stop);
  } finally {
    await n.stop();
  }
});
