// Probe: CPU, page faults and context switches per message of a one-way stream, per
// process, for a secure channel over one TCP hop (or plain TCP with --plain). Robust under
// load where msg/s is not: each side reads process.resourceUsage() at the moments the sink
// counts message `warm` and message `warm + n` (the parent relays the marks). msgPerS is the
// sink's rate over the same span, for comparisons within one quiet minute only.
//
//   node bench/dist/probe/channel-cpu.js [--size 1024] [--n 200000] [--warm 50000] [--plain]
//                                        [--reps 3] [--crypto-threads 0] [--channels 1]
//                                        [--baseline tls|tcp] [--pause hop|connection] [--body]
//                                        [--route kept|joined|new]
//
// The sender pauses while the next send's first hop needs drain (its channel's send queue, or
// the connection), as the bench's does; --pause connection pauses on the connection only, so
// that sends into a full channel each wait in the context's send queue (what a sender that
// ignores SecureChannel.needsDrain pays).
//
// --body sends each payload as a bytes body, `ctx.send(route, payload)`, as the docs' streaming
// loop does (a send whose first hop has room lends it the bytes: Mailbox.deliverBytes), instead
// of forwarding one prebuilt LocalMessage with the raw payload, as the bench's sender does.
//
// --route kept|joined|new (with --body): where each send goes. kept (the default): one Route
// object for all. joined: `ctx.send(route(channel, "sink"), payload)`, the route named in the
// loop, as it is usually written (route() gives the same object while a loop repeats it).
// new: `route([channel, "sink"])`, a new object with the same hops each send.
//
// --channels N opens N channels over the one connection and sends round-robin over them, as
// scale/channels does: from N ≈ 64 (a turn's sends spread over more channels than it holds
// messages) every message is a record of its own, so the figures are per record.
//
// --baseline tls|tcp measures the same stream without Hopwire, as the bench's baselines send it
// (net/frames.ts: length-prefixed frames, ~64 KiB per turn, pausing on 'drain'): over node:tls
// (TLS 1.3, AES-256-GCM, as baseline/tls) or plain TCP (baseline/tcp-framed). A channel's CPU
// per message beside node:tls's, per side, is what the secure-channel throughput ratio is made of.
import { fork, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { LocalMessage, node, route, type Address, type Context, type Node, type Routed, type Worker } from "@hopwire/runtime";
import { createTcpTransport, TcpConnectionOptions, TcpListenerOptions, type TcpConnection } from "@hopwire/transport-tcp";
import type { SecureChannel } from "@hopwire/secure-channel";
import { connect, listen } from "../net/endpoints.js";
import { FrameReader, FrameWriter } from "../net/frames.js";
import { startProfileIfAsked, type RunningProfile } from "../proc/profile.js";
import { hopNeedingDrain } from "../roles/hopwire-net.js";
import { checkedFlags, type FlagKind } from "./flags.js";

interface Args {
  size: number;
  n: number;
  warm: number;
  plain: boolean;
  cryptoThreads: number;
  channels: number;
  /** Not Hopwire: the bench's framed stream over node:tls or plain TCP. */
  baseline?: "tls" | "tcp";
  /** What the sender pauses on: the next send's first hop (default), or the connection only. */
  pause: "hop" | "connection";
  /** Send bytes bodies with ctx.send (as users do) instead of forwarding a prebuilt message. */
  body: boolean;
  /** With body: one route kept, or one named per send (see the header). */
  route: "kept" | "joined" | "new";
}
type Usage = { cpuUs: number; faults: number; switches: number; atMs: number };
type Msg = { t: "port"; port: number; certPem?: string } | { t: "mark"; i: number } | { t: "usage"; i: number; usage: Usage } | { t: "done" };

const usage = (): Usage => {
  const u = process.resourceUsage();
  return { cpuUs: u.userCPUTime + u.systemCPUTime, faults: u.minorPageFault, switches: u.voluntaryContextSwitches + u.involuntaryContextSwitches, atMs: performance.now() };
};
const send = (m: Msg): void => void process.send!(m);
const noop = (): void => {};
// HOPWIRE_BENCH_PROFILE=responder,initiator profiles the measured span (proc/profile.ts).
let profile: RunningProfile | undefined;
const atMark = (i: number): void => {
  if (i === 0) profile = startProfileIfAsked();
  else void profile?.stop();
};

class CountingSink implements Worker {
  count = 0;
  constructor(private readonly marks: number[]) {}
  handleMessage(_ctx: Context, _msg: Routed): void {
    const c = ++this.count;
    const i = this.marks.indexOf(c);
    if (i >= 0) {
      send({ t: "usage", i, usage: usage() });
      send({ t: "mark", i });
      atMark(i);
    }
  }
}

async function responder(a: Args): Promise<void> {
  const n = await node({ name: "probe-responder" });
  const tcp = await createTcpTransport(n);
  const listener = await tcp.listen("127.0.0.1:0", new TcpListenerOptions());
  let reachableFrom = listener.flowControlId;
  if (!a.plain) {
    const sc = await import("@hopwire/secure-channel");
    const scl = await sc.createSecureChannelListener(
      n,
      await sc.createIdentity(),
      "bob_listener",
      new sc.SecureChannelListenerOptions().withCryptoThreads(a.cryptoThreads).asConsumer(listener.flowControlId),
    );
    reachableFrom = scl.flowControlId;
  }
  await n.startWorker("sink", new CountingSink([a.warm, a.warm + a.n]), { placement: "main" });
  n.flowControls.addConsumer("sink", reachableFrom);
  send({ t: "port", port: Number(listener.address.split(":").pop()) });
}

/** The baseline's sink: counts the frames of every connection, with the same marks as CountingSink. */
async function baselineResponder(a: Args): Promise<void> {
  const marks = [a.warm, a.warm + a.n];
  let count = 0;
  const listening = await listen(a.baseline === "tls", (socket) => {
    const reader = new FrameReader(() => {
      const i = marks.indexOf(++count);
      if (i >= 0) {
        send({ t: "usage", i, usage: usage() });
        send({ t: "mark", i });
        atMark(i);
      }
    });
    socket.on("data", (chunk: Buffer) => reader.push(chunk));
    socket.on("error", noop);
  });
  send({ t: "port", port: listening.port, ...(listening.certPem === undefined ? {} : { certPem: listening.certPem }) });
}

/** The baseline's sender: ~64 KiB of frames per turn, written corked, waiting for 'drain' when the socket asks. */
async function baselineInitiator(a: Args, port: number, certPem: string | undefined): Promise<void> {
  const socket = await connect(certPem === undefined ? { port } : { port, certPem });
  socket.on("error", noop);
  process.on("message", (m: Msg) => {
    if (m.t === "mark") {
      send({ t: "usage", i: m.i, usage: usage() });
      atMark(m.i);
    }
  });
  const writer = new FrameWriter(socket);
  const payload = new Uint8Array(a.size).fill(0xab);
  const perTurn = Math.max(1, Math.floor((64 * 1024) / a.size));
  for (;;) {
    for (let k = 0; k < perTurn; k++) writer.push(payload);
    if (writer.flush()) await new Promise((r) => setImmediate(r));
    else await once(socket, "drain");
  }
}

async function initiator(a: Args, port: number): Promise<void> {
  const n = await node({ name: "probe-initiator" });
  const tcp = await createTcpTransport(n);
  const connection = await tcp.connect(`127.0.0.1:${port}`, new TcpConnectionOptions());
  const channels = a.plain ? [] : await openChannels(n, connection.address, a);
  const fronts: (SecureChannel | TcpConnection)[] = a.plain ? [connection] : channels;
  const routes = fronts.map((front) => route([front, "sink"]));
  let ctx!: Context;
  await n.startWorker("source", { initialize: (c: Context) => void (ctx = c), handleMessage() {} }, { placement: "main" });
  process.on("message", (m: Msg) => {
    if (m.t === "mark") {
      send({ t: "usage", i: m.i, usage: usage() });
      atMark(m.i);
    }
  });
  const payload = new Uint8Array(a.size).fill(0xab);
  const messages = routes.map((to) => new LocalMessage(to, route(ctx.address), payload));
  const perTurn = Math.max(1, Math.floor((64 * 1024) / a.size));
  let next = 0;
  // As the bench's sender: ~64 KiB per turn, the turn's last send awaited, paused while the
  // next send's first hop needs drain (its channel's send queue, or the connection).
  for (;;) {
    let last: Promise<void> | undefined;
    let waitOn: SecureChannel | TcpConnection | undefined;
    for (let k = 0; k < perTurn && (waitOn = hopNeedingDrain(connection, a.pause === "hop" ? channels[next] : undefined)) === undefined; k++) {
      // As the bench's sender: trySend / tryForward, and send / forward for one they refuse.
      const to = a.route === "kept" ? routes[next]! : a.route === "joined" ? route(fronts[next]!, "sink") : route([fronts[next]!, "sink"]);
      if (!(a.body ? ctx.trySend(to, payload) : ctx.tryForward(messages[next]!))) {
        last = a.body ? ctx.send(to, payload) : ctx.forward(messages[next]!);
        // Only the last is awaited: the others must not become unhandled rejections if the channel closes.
        if (k + 1 < perTurn) last.catch(noop);
      }
      next = next + 1 === messages.length ? 0 : next + 1;
    }
    await last;
    if (waitOn !== undefined) await waitOn.waitForDrain();
    else await new Promise((r) => setImmediate(r));
  }
}

/** Opens `a.channels` channels over the connection, one after the other. */
async function openChannels(n: Node, connection: Address, a: Args): Promise<SecureChannel[]> {
  const sc = await import("@hopwire/secure-channel");
  const identity = await sc.createIdentity();
  const channels: SecureChannel[] = [];
  for (let k = 0; k < a.channels; k++) {
    channels.push(await sc.createSecureChannel(n, identity, route(connection, "bob_listener"), new sc.SecureChannelOptions().withCryptoThreads(a.cryptoThreads)));
  }
  return channels;
}

const FLAGS: Readonly<Record<string, FlagKind>> = {
  size: "number",
  n: "count",
  warm: "count", // the sink's marks are exact counts from 1: 0 or 0.5 was never reached
  reps: "count",
  "crypto-threads": "number",
  channels: "count",
  plain: "switch",
  body: "switch",
  route: ["kept", "joined", "new"],
  baseline: ["tls", "tcp"],
  pause: ["hop", "connection"],
};
const USAGE =
  "usage: channel-cpu.js [--size 1024] [--n 200000] [--warm 50000] [--reps 3] [--channels 1] [--crypto-threads 0] [--plain 1] [--body 1] [--route kept|joined|new] [--baseline tls|tcp] [--pause hop|connection]";

function parse(argv: string[]): Args & { reps: number } {
  const flags = checkedFlags(argv, FLAGS, USAGE);
  const get = (k: string, d: number): number => (flags[k] === undefined ? d : Number(flags[k]));
  const baseline = flags.baseline;
  if (baseline !== undefined && baseline !== "tls" && baseline !== "tcp") throw new Error(`--baseline is tls or tcp, got ${baseline}`);
  const pause = flags.pause ?? "hop";
  if (pause !== "hop" && pause !== "connection") throw new Error(`--pause is hop or connection, got ${pause}`);
  const to = (flags.route ?? "kept") as Args["route"];
  if (to !== "kept" && flags.body !== "1") throw new Error("--route joined|new needs --body 1 (a forwarded message's routes are its own)");
  return {
    size: get("size", 1024),
    n: get("n", 200_000),
    warm: get("warm", 50_000),
    plain: flags.plain === "1",
    cryptoThreads: get("crypto-threads", 0),
    channels: get("channels", 1),
    reps: get("reps", 3),
    pause,
    body: flags.body === "1",
    route: to,
    ...(baseline === undefined ? {} : { baseline }),
  };
}

async function rep(a: Args): Promise<Record<string, Record<string, number>>> {
  const self = fileURLToPath(import.meta.url);
  const kids: ChildProcess[] = [];
  const usages: Record<string, Usage[]> = { responder: [], initiator: [] };
  try {
    const r = fork(self, ["responder", JSON.stringify(a)], { stdio: "inherit", env: { ...process.env, HOPWIRE_BENCH_ROLE: "responder" } });
    kids.push(r);
    const [portMsg] = (await once(r, "message")) as [Msg];
    if (portMsg.t !== "port") throw new Error("responder did not start");
    const i = fork(self, ["initiator", JSON.stringify(a), String(portMsg.port), portMsg.certPem ?? ""], { stdio: "inherit", env: { ...process.env, HOPWIRE_BENCH_ROLE: "initiator" } });
    kids.push(i);
    i.on("message", (m: Msg) => m.t === "usage" && (usages.initiator![m.i] = m.usage));
    const done = new Promise<void>((resolve, reject) => {
      // A child that dies (or a profiled one that freezes: see proc/profile.ts) fails the rep, not hangs it.
      for (const [name, kid] of [["responder", r], ["initiator", i]] as const) {
        kid.on("exit", (code, signal) => reject(new Error(`the ${name} exited (${code ?? signal}) before the last mark`)));
      }
      r.on("message", (m: Msg) => {
        if (m.t === "usage") usages.responder![m.i] = m.usage;
        if (m.t === "mark") {
          i.send(m);
          if (m.i === 1) setTimeout(resolve, 1000); // the initiator's second reading (and profiles) on their way
        }
      });
    });
    await done;
  } finally {
    for (const k of kids) k.kill("SIGKILL");
  }
  const per = (u: Usage[]): Record<string, number> => ({
    cpuUsPerMsg: +((u[1]!.cpuUs - u[0]!.cpuUs) / a.n).toFixed(3),
    faultsPerMsg: +((u[1]!.faults - u[0]!.faults) / a.n).toFixed(4),
    switchesPerMsg: +((u[1]!.switches - u[0]!.switches) / a.n).toFixed(4),
  });
  // Wall time between the sink's two marks: noisy under load (the CPU figures are the robust ones).
  const seconds = (usages.responder![1]!.atMs - usages.responder![0]!.atMs) / 1e3;
  return { msgPerS: { value: Math.round(a.n / seconds) }, responder: per(usages.responder!), initiator: per(usages.initiator!) };
}

const [role, argsJson, port, certPem] = process.argv.slice(2);
if (role === "responder" || role === "initiator") {
  const a = JSON.parse(argsJson!) as Args;
  if (role === "responder") await (a.baseline ? baselineResponder(a) : responder(a));
  else if (a.baseline) await baselineInitiator(a, Number(port), certPem || undefined);
  else await initiator(a, Number(port));
} else {
  const a = parse(process.argv.slice(2));
  const what = a.baseline ? { baseline: a.baseline } : { plain: a.plain, channels: a.channels };
  for (let k = 0; k < a.reps; k++) console.log(JSON.stringify({ size: a.size, ...what, ...(await rep(a)) }));
}
