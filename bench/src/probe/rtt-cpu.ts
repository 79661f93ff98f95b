// Probe: CPU per round trip, per process and per thread, for one-hop round trips.
//
//   node bench/dist/probe/rtt-cpu.js [--case raw|raw-thread|hw-main|hw-thread|mp|proxy|seed|seed-main] [--n 20000] [--warm 3000]
//                                    [--count] [--strace] [--reps 1] [--size 64] [--tail 1] [--trace 1]
//                                    [--trace-dir DIR]
//
// Cases: raw       a raw framed TCP client against a raw echo server (baseline/tcp-framed-rtt)
//        hw-main   node.sendAndReceive over one TCP connection to an echoer placed "main" (tcp/one-hop-rtt)
//        hw-thread the same to the seed's Echoer on its own thread (tcp/one-hop-rtt-thread-echo)
//        raw-thread raw, with each frame echoed by a thread over a bare MessagePort (the floor of hw-thread)
//        mp        a bare MessagePort ping-pong, main thread ↔ worker thread (baseline/messageport-rtt)
//        proxy     raw, through a plain TCP proxy process in the middle (baseline/tcp-proxy-rtt)
//        seed      the seed: a secure channel through the middle node's relay to the Echoer on its
//                  own thread (secure-channel/seed-echo-rtt); seed-main: the echoer placed "main"
//
// CPU comes from /proc/<pid>/task/*/schedstat (nanoseconds on a CPU, every thread), read by
// the parent while the initiator waits, so it is the same for every case and robust under
// load (wall time is not); mainKernel is the main thread's share of it in the kernel (its stime:
// syscalls, and on this machine's PVM guest, the wake-ups behind them). --count installs counters (timers, immediates, microtask-queued
// callbacks, promises created, MessagePort posts) in both processes: they cost CPU, so CPU
// figures of a --count run are not comparable. --strace attaches `strace -c -f` to both
// processes for the measured window only (syscalls per round trip; epoll_wait ≈ loop turns);
// --perf attaches `perf stat` the same way (task-clock, page faults, context switches).
// --trace 1 stamps each socket read and write and each thread post and receipt in every
// process and thread (rtt-trace.ts, a preload) and prints, for the orders of events most round
// trips follow, the median wall time between each two: where a round trip's time goes, step by
// step, wake-ups included (rtt-trace-report.ts). --trace-dir DIR keeps the stamps there, one
// file per process and thread, for trace-window-profile.js (one step's CPU profile).
// RTT_PROBE_BUSY_POLL=150 gives every Hopwire process NodeOptions.busyPollMicros 150 (only those
// named in RTT_PROBE_BUSY_POLL_ROLES=initiator,middle,responder when set).
// HOPWIRE_BENCH_PROFILE=initiator,hw-middle,hw-echo-thread (a role, or all) profiles each named process's
// main thread over the measured window (proc/profile.ts: CPU, or allocations with
// HOPWIRE_BENCH_PROFILE_KIND); "echo-thread" profiles the Echoer's own thread (hw-thread, seed)
// over the measured round trips (Hopwire's threads never get --cpu-prof: exec-argv.ts).
import { fork, spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { once } from "node:events";
import net from "node:net";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { Worker as ThreadWorker, isMainThread, parentPort } from "node:worker_threads";
import { counts, installCounters, type Counts } from "./counters.js";
import { startProfileIfAsked, type RunningProfile } from "../proc/profile.js";
import { checkedFlags, nextMessage, type FlagKind } from "./flags.js";
import { formatTraceReport, traceReport, type TraceReport } from "./rtt-trace-report.js";
import { TRACE_DUMP_MS, TRACE_FILE } from "./rtt-trace.js";

type Case = "raw" | "raw-thread" | "hw-main" | "hw-thread" | "mp" | "proxy" | "seed" | "seed-main";

// ---- CPU from /proc --------------------------------------------------------------------

interface ThreadCpu {
  main: number;
  /** The main thread's kernel time so far, ns (its stat's stime, in 10 ms ticks: read it over thousands of round trips). */
  mainKernel: number;
  others: Record<string, number>;
}

const NS_PER_TICK = 1e9 / 100; // USER_HZ

/** The main thread's stime from /proc/<pid>/task/<pid>/stat, in ns. */
function kernelNsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/task/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(fields[12]) * NS_PER_TICK; // field 15 of stat(5), counted from the state (field 3)
}

/** Nanoseconds on a CPU so far, for the main thread and per other thread name. */
function cpuOf(pid: number): ThreadCpu {
  const out: ThreadCpu = { main: 0, mainKernel: kernelNsOf(pid), others: {} };
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const ns = Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]);
      if (Number(tid) === pid) out.main += ns;
      else {
        const name = readFileSync(`/proc/${pid}/task/${tid}/comm`, "utf8").trim();
        out.others[`${name}:${tid}`] = ns;
      }
    } catch {
      // a thread that ended meanwhile
    }
  }
  return out;
}

function cpuDelta(a: ThreadCpu, b: ThreadCpu, n: number): Record<string, number> {
  const perRt = (ns: number): number => Math.round((ns / n / 1e3) * 10) / 10;
  const out: Record<string, number> = { main: perRt(b.main - a.main), mainKernel: perRt(b.mainKernel - a.mainKernel) };
  let total = b.main - a.main;
  // Threads over 5 µs per round trip by name and id (a worker thread, a busy compiler), the rest summed.
  let rest = 0;
  for (const [thread, ns] of Object.entries(b.others)) {
    const d = ns - (a.others[thread] ?? 0);
    total += d;
    if (d / n > 5000) out[thread] = perRt(d);
    else rest += d;
  }
  out.otherThreads = perRt(rest);
  out.total = perRt(total);
  return out;
}

// ---- roles -----------------------------------------------------------------------------

const HOST = "127.0.0.1";
const self = fileURLToPath(import.meta.url);

type ToChild = { t: "mark" } | { t: "report" } | { t: "go" } | { t: "close" };
type FromChild =
  | { t: "ready"; port?: number }
  | { t: "warm" }
  | { t: "done"; latenciesUs: number[]; counts: Counts }
  | { t: "report"; counts: Counts };

function send(msg: FromChild): void {
  process.send!(msg);
}


/** Frames: u32 length + bytes (the baselines' and Hopwire's framing, minus the version byte). */
function frameReader(onFrame: (frame: Buffer) => void): (chunk: Buffer) => void {
  let pending: Buffer = Buffer.alloc(0);
  return (chunk) => {
    let buf = pending.length > 0 ? Buffer.concat([pending, chunk]) : chunk;
    while (buf.length >= 4) {
      const len = buf.readUInt32BE(0);
      if (buf.length < 4 + len) break;
      onFrame(buf.subarray(0, 4 + len));
      buf = buf.subarray(4 + len);
    }
    pending = buf;
  };
}

async function rawEcho(): Promise<void> {
  const server = net.createServer({ noDelay: true }, (socket) => {
    socket.on("data", frameReader((frame) => socket.write(frame)));
    socket.on("error", () => {});
  });
  server.listen(0, HOST);
  await once(server, "listening");
  send({ t: "ready", port: (server.address() as net.AddressInfo).port });
}

/** rawEcho, but each frame goes to a thread and back over a bare MessagePort before it is written. */
async function rawThreadEcho(): Promise<void> {
  const thread = new ThreadWorker(self, { argv: ["--role", "mp-echo"] });
  await once(thread, "online");
  const server = net.createServer({ noDelay: true }, (socket) => {
    thread.on("message", (frame: Uint8Array) => socket.write(frame));
    socket.on("data", frameReader((frame) => thread.postMessage(frame)));
    socket.on("error", () => {});
  });
  server.listen(0, HOST);
  await once(server, "listening");
  send({ t: "ready", port: (server.address() as net.AddressInfo).port });
}

async function hopwireEcho(echoer: "main" | "thread", secure: boolean): Promise<void> {
  const { LocalMessage, node, route } = await import("@hopwire/runtime");
  const { createTcpTransport, TcpListenerOptions } = await import("@hopwire/transport-tcp");
  const { QuietEchoer } = await import("../roles/hopwire-workers.js");
  const n = await node({ name: "responder", busyPollMicros: busyPollOf("responder") });
  const tcp = await createTcpTransport(n);
  const listener = await tcp.listen(`${HOST}:0`, new TcpListenerOptions());
  let reachableFrom = listener.flowControlId;
  if (secure) {
    const sc = await import("@hopwire/secure-channel");
    const options = new sc.SecureChannelListenerOptions().withCryptoThreads(0).asConsumer(listener.flowControlId);
    reachableFrom = (await sc.createSecureChannelListener(n, await sc.createIdentity(), "bob_listener", options)).flowControlId;
  }
  if (echoer === "thread") await n.startWorker("echoer", QuietEchoer);
  else {
    await n.startWorker(
      "echoer",
      {
        handleMessage: (ctx, msg) => ctx.forward(new LocalMessage(msg.returnRoute, route(ctx.address), msg.payload)),
      },
      { placement: "main" },
    );
  }
  n.flowControls.addConsumer("echoer", reachableFrom);
  send({ t: "ready", port: Number(listener.address.slice(listener.address.lastIndexOf(":") + 1)) });
}

/** The seed's middle node: a connection to the responder, the built-in relay, a listener that may reach it. */
async function hopwireMiddle(targetPort: number): Promise<void> {
  const { node, route, startRelay } = await import("@hopwire/runtime");
  const { createTcpTransport, TcpConnectionOptions, TcpListenerOptions } = await import("@hopwire/transport-tcp");
  const n = await node({ name: "middle", busyPollMicros: busyPollOf("middle") });
  const tcp = await createTcpTransport(n);
  const toBob = await tcp.connect(`${HOST}:${targetPort}`, new TcpConnectionOptions());
  await startRelay(n, "forward_to_bob", route(toBob));
  const listener = await tcp.listen(`${HOST}:0`, new TcpListenerOptions());
  n.flowControls.addConsumer("forward_to_bob", listener.flowControlId);
  send({ t: "ready", port: Number(listener.address.slice(listener.address.lastIndexOf(":") + 1)) });
}

/** A plain TCP proxy: bytes piped both ways, nothing parsed (roles/proxy.ts). */
async function rawProxy(targetPort: number): Promise<void> {
  const server = net.createServer({ noDelay: true }, (downstream) => {
    const upstream = net.connect({ port: targetPort, host: HOST });
    upstream.setNoDelay(true);
    downstream.pipe(upstream).pipe(downstream);
    for (const s of [downstream, upstream]) s.on("error", () => {});
  });
  server.listen(0, HOST);
  await once(server, "listening");
  send({ t: "ready", port: (server.address() as net.AddressInfo).port });
}

interface InitiatorArgs {
  kind: "raw" | "hw" | "mp" | "seed";
  port: number;
  n: number;
  warm: number;
  size: number;
}

async function initiator(a: InitiatorArgs): Promise<void> {
  let roundTrip: () => Promise<unknown>;
  let close: () => Promise<void>;
  if (a.kind === "raw") {
    const socket = net.connect({ port: a.port, host: HOST });
    await once(socket, "connect");
    socket.setNoDelay(true);
    const frame = Buffer.alloc(4 + a.size, 0xab);
    frame.writeUInt32BE(a.size, 0);
    let wake: (() => void) | undefined;
    socket.on("data", frameReader(() => wake!()));
    roundTrip = () =>
      new Promise<void>((resolve) => {
        wake = resolve;
        socket.write(frame);
      });
    close = async () => void socket.destroy();
  } else if (a.kind === "mp") {
    const worker = new ThreadWorker(self, { argv: ["--role", "mp-echo"] });
    await once(worker, "online");
    const payload = new Uint8Array(a.size).fill(0xab);
    roundTrip = () => {
      const back = once(worker, "message");
      worker.postMessage(payload);
      return back;
    };
    close = async () => void (await worker.terminate());
  } else {
    const { node, route } = await import("@hopwire/runtime");
    const { createTcpTransport, TcpConnectionOptions } = await import("@hopwire/transport-tcp");
    const n = await node({ name: "initiator", sendAndReceiveTimeout: 30_000, busyPollMicros: busyPollOf("initiator") });
    const tcp = await createTcpTransport(n);
    const connection = await tcp.connect(`${HOST}:${a.port}`, new TcpConnectionOptions());
    let to = route(connection, "echoer");
    if (a.kind === "seed") {
      const sc = await import("@hopwire/secure-channel");
      const options = new sc.SecureChannelOptions().withCryptoThreads(0);
      const channel = await sc.createSecureChannel(n, await sc.createIdentity(), route(connection, "forward_to_bob", "bob_listener"), options);
      to = route(channel.address, "echoer");
    }
    const payload = new Uint8Array(a.size).fill(0xab);
    roundTrip = () => n.sendAndReceive(to, payload);
    close = () => n.stop();
  }
  for (let i = 0; i < a.warm; i++) await roundTrip();
  send({ t: "warm" });
  await nextMessage(process, "go");
  const profile = startProfileIfAsked();
  for (const k of Object.keys(counts)) delete counts[k];
  const latenciesUs: number[] = new Array(a.n);
  for (let i = 0; i < a.n; i++) {
    const t = performance.now();
    await roundTrip();
    latenciesUs[i] = (performance.now() - t) * 1e3;
  }
  const snapshot = { ...counts };
  await profile?.stop();
  send({ t: "done", latenciesUs, counts: snapshot });
  // Not before the parent has read this process's threads: mp's echo thread ends with close().
  await nextMessage(process, "close");
  await close();
}

/** Counts (and, with HOPWIRE_BENCH_PROFILE, profiles: proc/profile.ts) the measured window, between "mark" and "report". */
function serveCounts(): void {
  let profile: RunningProfile | undefined;
  process.on("message", (m: ToChild) => {
    if (m.t === "mark") {
      for (const k of Object.keys(counts)) delete counts[k];
      profile = startProfileIfAsked();
      send({ t: "report", counts: {} });
    } else if (m.t === "report") {
      const snapshot = { ...counts };
      void Promise.resolve(profile?.stop()).then(() => send({ t: "report", counts: snapshot }));
    }
  });
}

// ---- parent ----------------------------------------------------------------------------

interface Options {
  case: Case;
  n: number;
  warm: number;
  size: number;
  count: boolean;
  strace: boolean;
  perf: boolean;
  /** With --perf: `perf record -g` instead of `perf stat` (run children with --perf-basic-prof). */
  record: boolean;
  reps: number;
  /** --tail 1: the tail's percentiles, and how far apart the slow round trips come (see tailOf). */
  tail: boolean;
  /** --trace 1: where the wall time of a round trip goes, from stamps in every process (rtt-trace.ts). */
  trace: boolean;
  /** --trace-dir DIR: where the stamps are written and left (else a temporary directory, removed). */
  traceDir: string | undefined;
}

const CASES: readonly Case[] = ["raw", "raw-thread", "hw-main", "hw-thread", "mp", "proxy", "seed", "seed-main"];
/** The flags a user gives, and those the probe gives its own children (role, kind, port, target). */
const FLAGS: Readonly<Record<string, FlagKind>> = {
  case: CASES,
  n: "count",
  warm: "number",
  size: "number",
  reps: "count",
  count: "switch",
  strace: "switch",
  perf: "switch",
  record: "switch",
  tail: "switch",
  trace: "switch",
  "trace-dir": "text",
  role: "text",
  kind: "text",
  port: "number",
  target: "number",
};
const USAGE = `usage: rtt-cpu.js [--case ${CASES.join("|")}] [--n 20000] [--warm 3000] [--size 64] [--reps 1] [--count] [--strace] [--perf] [--tail 1] [--trace 1] [--trace-dir DIR]`;

function parse(argv: string[]): Options & { role?: string; rest: Record<string, string> } {
  const rest = checkedFlags(argv, FLAGS, USAGE);
  return {
    role: rest.role,
    case: (rest.case ?? "hw-main") as Case,
    n: Number(rest.n ?? 20000),
    warm: Number(rest.warm ?? 3000),
    size: Number(rest.size ?? 64),
    count: rest.count === "1",
    strace: rest.strace === "1",
    perf: rest.perf === "1" || rest.record === "1",
    record: rest.record === "1",
    reps: Number(rest.reps ?? 1),
    tail: rest.tail === "1",
    trace: rest.trace === "1" || (rest["trace-dir"] !== undefined && rest.trace !== "0"),
    traceDir: rest["trace-dir"],
    rest,
  };
}

/**
 * The tail of a run's latencies (in the order they were measured, and sorted): percentiles
 * from p90 up, and the round trips slower than 3× the median: how many, and the median gap
 * between two of them in round trips (a steady gap points at something periodic, such as
 * a collector that runs every so many allocations; a spread one at outside load).
 */
function tailOf(inOrder: readonly number[], sorted: readonly number[]): Record<string, number> {
  const at = (q: number): number => Math.round(sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))]!);
  const slow = 3 * sorted[Math.floor(sorted.length / 2)]!;
  const slowAt: number[] = [];
  inOrder.forEach((us, i) => {
    if (us > slow) slowAt.push(i);
  });
  const gaps = slowAt.slice(1).map((i, k) => i - slowAt[k]!).sort((x, y) => x - y);
  return {
    p90us: at(0.9),
    p95us: at(0.95),
    p98us: at(0.98),
    p99us: at(0.99),
    p999us: at(0.999),
    maxUs: Math.round(sorted[sorted.length - 1]!),
    slowOver3xP50: slowAt.length,
    slowGapMedian: gaps.length > 0 ? gaps[gaps.length >> 1]! : 0,
  };
}

/** NodeOptions.busyPollMicros of a Hopwire process (RTT_PROBE_BUSY_POLL, for the roles in RTT_PROBE_BUSY_POLL_ROLES; default 0, off). */
const busyPollOf = (role: string): number =>
  (process.env.RTT_PROBE_BUSY_POLL_ROLES ?? "initiator,middle,responder").split(",").includes(role) ? Number(process.env.RTT_PROBE_BUSY_POLL ?? 0) : 0;

/** Extra node flags for the children (e.g. --cpu-prof), from RTT_PROBE_NODE_FLAGS. */
const childFlags = (process.env.RTT_PROBE_NODE_FLAGS ?? "").split(" ").filter((f) => f !== "");

/** The preload that stamps a traced child's I/O; its threads load it too, through the execArgv they inherit. */
const TRACE_PRELOAD = new URL("./rtt-trace.js", import.meta.url).href;

/** Forks a role; with `traceDir`, the child (and its threads) write their stamps there. */
function forkRole(args: string[], env: Record<string, string> = {}, traceDir?: string): ChildProcess {
  const execArgv = traceDir === undefined ? childFlags : [...childFlags, "--import", TRACE_PRELOAD];
  const traceEnv = traceDir === undefined ? {} : { RTT_TRACE_DIR: traceDir };
  return fork(self, args, { execArgv, stdio: ["ignore", "inherit", "inherit", "ipc"], env: { ...process.env, ...env, ...traceEnv } });
}

/** Round trips of the warm-up and the connection's set-up that the trace's report leaves out. */
const TRACE_SKIP_BEYOND_WARM = 100;

function attachStrace(pid: number, file: string): ChildProcess {
  return spawn("strace", ["-c", "-f", "-p", String(pid), "-o", file], { stdio: ["ignore", "ignore", "pipe"] });
}

const PERF_EVENTS = "task-clock,page-faults,context-switches,cpu-migrations";

function attachPerf(pid: number, file: string, record: boolean): ChildProcess {
  const args = record ? ["record", "-e", "task-clock", "-g", "-p", String(pid), "-o", `${file}.data`] : ["stat", "-x", ",", "-e", PERF_EVENTS, "-p", String(pid), "-o", file];
  return spawn("perf", args, { stdio: ["ignore", "ignore", "ignore"] });
}

/** perf stat's CSV (value,unit,event,...) as per-round-trip figures (task-clock in µs). */
function perfPerRt(file: string, n: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const f = line.split(",");
    if (f.length < 3 || Number.isNaN(Number(f[0]))) continue;
    const v = Number(f[0]) * (f[2] === "task-clock" ? 1e3 : 1); // msec → µs
    out[f[2]!] = Math.round((v / n) * 100) / 100;
  }
  return out;
}

async function waitAttached(strace: ChildProcess): Promise<void> {
  // strace says "Process N attached" for each thread on stderr; give it a moment to take them all.
  await new Promise<void>((resolve) => {
    strace.stderr!.once("data", () => resolve());
  });
  await new Promise((r) => setTimeout(r, 300));
}

function syscallsPerRt(file: string, n: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const m = /^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(\w+)\s*$/.exec(line);
    if (m && m[2] !== "total") out[m[2]!] = Math.round((Number(m[1]) / n) * 100) / 100;
  }
  return out;
}

function perRt(c: Counts, n: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(c)) out[k] = Math.round((v / n) * 100) / 100;
  return out;
}

const RESPONDER_ROLE: Record<Exclude<Case, "mp">, string> = {
  raw: "raw-echo",
  "raw-thread": "raw-thread-echo",
  proxy: "raw-echo",
  "hw-main": "hw-echo-main",
  "hw-thread": "hw-echo-thread",
  seed: "seed-echo-thread",
  "seed-main": "seed-echo-main",
};

/** One run; with --trace, its report beside the figures (the stamps are read once every child has exited). */
async function runOnce(o: Options): Promise<Record<string, unknown>> {
  if (!o.trace) return runTopology(o, undefined);
  const temporary = o.traceDir === undefined;
  const traceDir = temporary ? mkdtempSync(join(tmpdir(), "rtt-trace-")) : keptTraceDir(o.traceDir!);
  const remove = (): void => rmSync(traceDir, { recursive: true, force: true });
  // Ctrl-C ends the process before the finally below: the temporary stamps go with it too.
  const interrupted = (): void => {
    remove();
    process.exit(130);
  };
  if (temporary) process.once("SIGINT", interrupted).once("SIGTERM", interrupted);
  try {
    const result = await runTopology(o, traceDir);
    result.trace = traceReport(traceDir, o.warm + TRACE_SKIP_BEYOND_WARM, o.case === "mp" ? "post" : "write");
    return result;
  } finally {
    if (temporary) {
      process.off("SIGINT", interrupted).off("SIGTERM", interrupted);
      remove();
    }
  }
}

/**
 * --trace-dir's directory, made if need be and cleared of an earlier run's stamp files (they
 * would be merged into this report); one that holds anything else is refused, not cleared.
 */
function keptTraceDir(dir: string): string {
  mkdirSync(dir, { recursive: true });
  const names = readdirSync(dir);
  const other = names.find((name) => !TRACE_FILE.test(name));
  if (other !== undefined) throw new Error(`--trace-dir ${dir} holds ${JSON.stringify(other)}: give an empty directory, or one that only an earlier --trace-dir run wrote`);
  for (const name of names) rmSync(join(dir, name));
  return dir;
}

async function runTopology(o: Options, traceDir: string | undefined): Promise<Record<string, unknown>> {
  const children: ChildProcess[] = [];
  const straces: ChildProcess[] = [];
  const countArg = o.count ? ["--count"] : [];
  try {
    let responder: ChildProcess | undefined;
    let middle: ChildProcess | undefined;
    let port = 0;
    if (o.case !== "mp") {
      // The echo thread sees the warm-up's round trips, then the measured ones: HOPWIRE_BENCH_PROFILE=echo-thread profiles those.
      responder = forkRole(["--role", RESPONDER_ROLE[o.case], ...countArg], { HOPWIRE_BENCH_ECHO_WINDOW: `${o.warm + 1},${o.warm + o.n}` }, traceDir);
      children.push(responder);
      port = (await nextMessage<{ port: number }>(responder, "ready")).port;
    }
    if (o.case === "proxy" || o.case === "seed" || o.case === "seed-main") {
      middle = forkRole(["--role", o.case === "proxy" ? "raw-proxy" : "hw-middle", "--target", String(port), ...countArg], {}, traceDir);
      children.push(middle);
      port = (await nextMessage<{ port: number }>(middle, "ready")).port;
    }
    const kind = o.case === "raw" || o.case === "raw-thread" || o.case === "proxy" ? "raw" : o.case === "mp" ? "mp" : o.case.startsWith("seed") ? "seed" : "hw";
    const init = forkRole(
      ["--role", "initiator", "--kind", kind, "--port", String(port), "--n", String(o.n), "--warm", String(o.warm), "--size", String(o.size), ...countArg],
      {},
      traceDir,
    );
    children.push(init);
    await nextMessage(init, "warm");
    const files = { initiator: `/tmp/rtt-probe-strace-${process.pid}-i`, responder: `/tmp/rtt-probe-strace-${process.pid}-r` };
    if (o.perf) {
      straces.push(attachPerf(init.pid!, files.initiator, o.record));
      if (responder) straces.push(attachPerf(responder.pid!, files.responder, o.record));
      await new Promise((r) => setTimeout(r, 500));
    }
    if (o.strace) {
      straces.push(attachStrace(init.pid!, files.initiator));
      if (responder) straces.push(attachStrace(responder.pid!, files.responder));
      await Promise.all(straces.map(waitAttached));
    }
    // The middle and the responder count (and profile) the measured window.
    for (const child of [responder, middle]) {
      if (child === undefined) continue;
      child.send({ t: "mark" });
      await nextMessage(child, "report");
    }
    const i0 = cpuOf(init.pid!);
    const r0 = responder ? cpuOf(responder.pid!) : undefined;
    const m0 = middle ? cpuOf(middle.pid!) : undefined;
    init.send({ t: "go" });
    const done = await nextMessage<{ latenciesUs: number[]; counts: Counts }>(init, "done");
    const i1 = cpuOf(init.pid!);
    const r1 = responder ? cpuOf(responder.pid!) : undefined;
    const m1 = middle ? cpuOf(middle.pid!) : undefined;
    // Threads write their stamps once quiet (they get no exit event of their own): give them the time.
    if (traceDir !== undefined) await new Promise((resolve) => setTimeout(resolve, TRACE_DUMP_MS + 200));
    init.send({ t: "close" });
    let responderCounts: Counts = {};
    let middleCounts: Counts = {};
    if (responder) {
      responder.send({ t: "report" });
      responderCounts = (await nextMessage<{ counts: Counts }>(responder, "report")).counts;
    }
    if (middle) {
      middle.send({ t: "report" });
      middleCounts = (await nextMessage<{ counts: Counts }>(middle, "report")).counts;
    }
    const sorted = done.latenciesUs.slice().sort((x, y) => x - y);
    const result: Record<string, unknown> = {
      case: o.case,
      n: o.n,
      p50us: Math.round(sorted[Math.floor(sorted.length / 2)]!),
      p99us: Math.round(sorted[Math.floor(sorted.length * 0.99)]!),
      ...(o.tail ? { tail: tailOf(done.latenciesUs, sorted) } : {}),
      cpuUsPerRt: {
        initiator: cpuDelta(i0, i1, o.n),
        ...(m0 && m1 ? { middle: cpuDelta(m0, m1, o.n) } : {}),
        ...(r0 && r1 ? { responder: cpuDelta(r0, r1, o.n) } : {}),
      },
    };
    if (o.count) {
      result.countsPerRt = {
        initiator: perRt(done.counts, o.n),
        ...(middle ? { middle: perRt(middleCounts, o.n) } : {}),
        ...(responder ? { responder: perRt(responderCounts, o.n) } : {}),
      };
    }
    if (o.strace || o.perf) {
      for (const s of straces) {
        s.kill("SIGINT");
        await once(s, "exit");
      }
      if (o.record) console.error(`perf data: ${files.initiator}.data ${files.responder}.data`);
      const read = o.record ? () => ({}) : o.perf ? perfPerRt : syscallsPerRt;
      result[o.perf ? "perfPerRt" : "syscallsPerRt"] = {
        initiator: read(files.initiator, o.n),
        ...(responder ? { responder: read(files.responder, o.n) } : {}),
      };
    }
    return result;
  } finally {
    for (const s of straces) if (s.exitCode === null) s.kill("SIGKILL");
    // A child asked to leave exits by itself (so that --cpu-prof can write its profile); one that does not is killed.
    await Promise.all(
      children.map(async (c) => {
        if (c.exitCode !== null) return;
        const exited = once(c, "exit");
        if (c.connected) c.disconnect();
        const timer = setTimeout(() => c.kill("SIGKILL"), 3000);
        await exited;
        clearTimeout(timer);
      }),
    );
  }
}

async function main(): Promise<void> {
  const o = parse(process.argv.slice(2));
  if (!isMainThread) {
    // mp's echo thread: every message back as it came.
    parentPort!.on("message", (m: Uint8Array) => parentPort!.postMessage(m));
    return;
  }
  if (o.role !== undefined) {
    process.env.HOPWIRE_BENCH_ROLE ??= o.role; // names a profile (HOPWIRE_BENCH_PROFILE=initiator,hw-echo-thread or all)
    process.on("disconnect", () => process.exit(0));
    if (o.count) installCounters();
    if (o.role === "initiator") {
      await initiator({ kind: o.rest.kind as InitiatorArgs["kind"], port: Number(o.rest.port), n: o.n, warm: o.warm, size: o.size });
      return;
    }
    serveCounts();
    if (o.role === "raw-proxy") return rawProxy(Number(o.rest.target));
    if (o.role === "hw-middle") return hopwireMiddle(Number(o.rest.target));
    if (o.role === "raw-echo") await rawEcho();
    else if (o.role === "raw-thread-echo") await rawThreadEcho();
    else await hopwireEcho(o.role.endsWith("main") ? "main" : "thread", o.role.startsWith("seed"));
    return;
  }
  for (let r = 0; r < o.reps; r++) {
    const { trace, ...result } = await runOnce(o);
    console.log(JSON.stringify(result));
    if (trace !== undefined) console.log(formatTraceReport(trace as TraceReport));
  }
}

await main();
