// Probe: CPU per message, per process, for one-way Hopwire streams over TCP: one hop
// (tcp/one-hop-throughput's shape) or through the built-in relay (tcp/relay-throughput's).
//
//   node bench/dist/probe/relay-cpu.js [--case hop|relay] [--size 64] [--warm-ms 1500]
//                                      [--ms 1500] [--reps 3] [--count] [--prof sender|middle|sink]
//                                      [--warm-msgs N] [--series <step ms>] [--trace-gc sender|middle|sink]
//                                      [--window N] [--sink-thread | --sink-pool]
//   (RELAY_PROBE_NODE_FLAGS="..." adds node flags to every child, e.g. --perf-basic-prof)
//
// The sender, middle and sink run as in the bench roles (hopwire-initiator's send loop:
// ~64 KiB per turn, pausing on needsDrain; --window N adds an end-to-end ack window of N
// messages, acked every 1/8, through the relay). After --warm-ms, and once the sink has counted
// --warm-msgs (default: the bench's warm count, warm-count.ts; at most its cap), the parent reads the sink's count
// and every process's CPU (/proc/<pid>/task/*/schedstat: all threads, robust under load),
// again --ms later, and prints msg/s and CPU µs per message per process (busy = CPU / wall),
// the kernel's share of it (utime/stime), and minor page faults per 1000 messages.
// --count installs counters (promises, immediates, microtasks, socket writes, socket 'data'
// events) in every process: figures per message; CPU of a --count run is not comparable.
// --prof <role> runs that process with --cpu-prof (profile in /tmp/relay-cpu-prof/).
// --sink-thread places the sink on a thread of its own (count-sink.ts) instead of "main": a
// stream from TCP to a worker thread, the sink process's CPU then counts both threads.
// --sink-pool places it in the node's pool instead, one slot (runtime/pool's shape, fed from TCP).
import { fork, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { once } from "node:events";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { LocalMessage, node, route, startRelay, type Context, type Routed, type Worker } from "@hopwire/runtime";
import { createTcpTransport, TcpConnectionOptions, TcpListenerOptions } from "@hopwire/transport-tcp";
import { WARM_COUNT_CAP_MS, warmMessagesFor } from "../warm-count.js";
import { counts, installCounters, type Counts } from "./counters.js";
import { nextMessage, parseFlags } from "./flags.js";
import { CountSink } from "./count-sink.js";
import { threadCpuNs } from "../proc/thread-cpu.js";

type Role = "sender" | "middle" | "sink";
const HOST = "127.0.0.1";
const self = fileURLToPath(import.meta.url);

// ---- CPU from /proc --------------------------------------------------------------------

/** Nanoseconds on a CPU so far: the main thread, and all the others; and minor page faults. */
function cpuOf(pid: number): { main: number; others: number; faults: number; systemTicks: number; userTicks: number } {
  // /proc/<pid>/stat: the command (field 2) may hold spaces; minflt, utime and stime are the 8th, 12th and 13th fields after it.
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8");
  const stat = fields.slice(fields.lastIndexOf(")") + 2).split(" ");
  const faults = Number(stat[7]);
  const userTicks = Number(stat[11]);
  const systemTicks = Number(stat[12]);
  return { ...threadCpuNs(pid), faults, systemTicks, userTicks };
}

// ---- roles -----------------------------------------------------------------------------

type FromChild = { t: "ready"; port?: number } | { t: "count"; count: number; counts: Counts };
const send = (m: FromChild): void => void process.send!(m);

/** Counts data messages; acks every `ackEvery` along the return route. Reads the payload's length, as the bench's sink does. */
class Sink implements Worker {
  count = 0;
  constructor(private readonly ackEvery: number) {}
  handleMessage(ctx: Context, msg: Routed): void {
    if (msg.payload.length === 0) return;
    const count = ++this.count;
    if (this.ackEvery > 0 && count % this.ackEvery === 0) void ctx.send(msg.returnRoute, count).catch(() => {});
  }
}

async function sink(ackEvery: number, placement: "main" | "thread" | "pool"): Promise<void> {
  const onThread = placement !== "main";
  // One pool slot: the count is that slot's instance's, which the count query reaches too.
  const n = await node({ name: "sink", ...(placement === "pool" ? { pool: { minThreads: 1, maxThreads: 1 } } : {}) });
  const tcp = await createTcpTransport(n);
  const listener = await tcp.listen(`${HOST}:0`, new TcpListenerOptions());
  const worker = new Sink(ackEvery);
  if (onThread) await n.startWorker("sink", CountSink, { placement });
  else await n.startWorker("sink", worker, { placement: "main" });
  n.flowControls.addConsumer("sink", listener.flowControlId);
  const countOf = async (): Promise<number> => (onThread ? n.sendAndReceive<number>(route("sink"), "?") : worker.count);
  process.on("message", (m: { t: string }) => {
    if (m.t !== "count") return;
    void countOf().then((count) => send({ t: "count", count, counts: { ...counts } }));
  });
  send({ t: "ready", port: Number(listener.address.slice(listener.address.lastIndexOf(":") + 1)) });
}

async function middle(targetPort: number): Promise<void> {
  const n = await node({ name: "middle" });
  const tcp = await createTcpTransport(n);
  const toSink = await tcp.connect(`${HOST}:${targetPort}`, new TcpConnectionOptions());
  await startRelay(n, "forward_to_bob", route(toSink));
  const listener = await tcp.listen(`${HOST}:0`, new TcpListenerOptions());
  n.flowControls.addConsumer("forward_to_bob", listener.flowControlId);
  process.on("message", (m: { t: string }) => {
    if (m.t === "count") send({ t: "count", count: 0, counts: { ...counts } });
  });
  send({ t: "ready", port: Number(listener.address.slice(listener.address.lastIndexOf(":") + 1)) });
}

/** hopwire-initiator's send loop (see there for why each piece is what it is). */
async function sender(port: number, hops: string[], size: number, window: number): Promise<void> {
  const n = await node({ name: "sender" });
  const tcp = await createTcpTransport(n);
  const connection = await tcp.connect(`${HOST}:${port}`, new TcpConnectionOptions());
  let acked = 0;
  let wake: (() => void) | undefined;
  let ctx!: Context;
  await n.startWorker(
    "source",
    {
      initialize: (c: Context) => void (ctx = c),
      handleMessage: (_c: Context, msg: Routed) => {
        if (typeof msg.body === "number" && msg.body > acked) acked = msg.body;
        const w = wake;
        wake = undefined;
        w?.();
      },
    },
    { placement: "main" },
  );
  process.on("message", (m: { t: string }) => {
    if (m.t === "count") send({ t: "count", count: 0, counts: { ...counts } });
  });
  send({ t: "ready" });
  const message = new LocalMessage(route(connection, ...hops, "sink"), route(ctx.address), new Uint8Array(size).fill(0xab));
  const perTurn = Math.max(1, Math.floor((64 * 1024) / size));
  const limit = window > 0 ? window : Infinity;
  let sent = 0;
  const fail = (e: unknown): void => void e;
  while (!connection.isClosed) {
    let last: Promise<void> | undefined;
    for (let k = 0; k < perTurn && sent - acked < limit && !connection.needsDrain; k++) {
      // As the bench's sender: tryForward, and forward for one it refuses.
      try {
        if (!ctx.tryForward(message)) last = ctx.forward(message).catch(fail);
      } catch {
        break; // the connection closed: this turn ends, and the loop with it (connection.isClosed)
      }
      sent++;
    }
    await last;
    if (connection.needsDrain) await connection.waitForDrain().catch(() => {});
    else if (sent - acked >= limit) await new Promise<void>((r) => (wake = r));
    else await new Promise((r) => setImmediate(r));
  }
}

// ---- parent ----------------------------------------------------------------------------

/**
 * --series <ms>: from the sender's start, every <ms> for --ms, the sink's rate and each
 * process's CPU per message and busy share over that step: shows whether (and when) a
 * run settles, i.e. whether a short window after a fixed warm-up measures steady state.
 */
async function series(children: Partial<Record<Role, ChildProcess>>, roles: Role[], stepMs: number, totalMs: number, size: number): Promise<Record<string, unknown>> {
  const count = (): Promise<number> => sinkCount(children.sink!);
  const t0 = performance.now();
  let prev = { t: t0, n: await count(), cpu: Object.fromEntries(roles.map((r) => [r, cpuOf(children[r]!.pid!)])) };
  const rows: unknown[] = [];
  while (performance.now() - t0 < totalMs) {
    await sleep(stepMs);
    const now = { t: performance.now(), n: await count(), cpu: Object.fromEntries(roles.map((r) => [r, cpuOf(children[r]!.pid!)])) };
    const messages = now.n - prev.n;
    const ms = now.t - prev.t;
    const row: Record<string, unknown> = { atMs: Math.round(now.t - t0), kmsg: Math.round(now.n / 1e3), kmsgPerS: Math.round(messages / ms) };
    for (const r of roles) {
      const main = now.cpu[r]!.main - prev.cpu[r]!.main;
      row[r] = { us: messages > 0 ? Math.round((main / messages / 1e3) * 100) / 100 : null, busy: Math.round((main / 1e6 / ms) * 100) };
    }
    rows.push(row);
    console.log(JSON.stringify(row));
    prev = now;
  }
  return { case: roles.includes("middle") ? "relay" : "hop", size, series: rows.length };
}

const args = parseFlags;

const next = <T>(child: ChildProcess, t: string): Promise<T> => nextMessage<T>(child, t);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The sink's count of data messages so far. */
async function sinkCount(sink: ChildProcess): Promise<number> {
  const reply = next<{ count: number }>(sink, "count");
  sink.send({ t: "count" });
  return (await reply).count;
}

async function runOnce(a: Record<string, string>): Promise<Record<string, unknown>> {
  const relay = (a.case ?? "relay") === "relay";
  const size = Number(a.size ?? 64);
  // --window N: an end-to-end ack window on top (the bench's runs had one until session 9; at
  // 64 B a window of 65 536 messages paced the relay at ≈ 1.1 M msg/s against ≈ 2.0 M without).
  const window = relay ? Number(a.window ?? 0) : 0;
  const common = ["--size", String(size), ...(a.count ? ["--count"] : []), ...(a["sink-thread"] ? ["--sink-thread"] : []), ...(a["sink-pool"] ? ["--sink-pool"] : [])];
  const children: Partial<Record<Role, ChildProcess>> = {};
  const start = (role: Role, extra: string[]): ChildProcess => {
    const execArgv = [
      ...(a.prof === role ? ["--cpu-prof", "--cpu-prof-dir", "/tmp/relay-cpu-prof"] : []),
      ...(a["trace-gc"] === role ? ["--trace-gc"] : []),
      // e.g. RELAY_PROBE_NODE_FLAGS=--perf-basic-prof for `perf record` of the children's JavaScript
      ...(process.env.RELAY_PROBE_NODE_FLAGS?.split(" ").filter(Boolean) ?? []),
    ];
    const c = fork(self, ["--role", role, ...common, ...extra], { execArgv, stdio: ["ignore", "inherit", "inherit", "ipc"], detached: true });
    children[role] = c;
    return c;
  };
  try {
    const s = start("sink", ["--ack-every", String(window > 0 ? Math.max(1, Math.floor(window / 8)) : 0)]);
    let port = (await next<{ port: number }>(s, "ready")).port;
    if (relay) {
      const m = start("middle", ["--target", String(port)]);
      port = (await next<{ port: number }>(m, "ready")).port;
    }
    start("sender", ["--port", String(port), "--window", String(window), "--hops", relay ? "forward_to_bob" : ""]);
    const roles = Object.keys(children) as Role[];
    if (a.series) return await series(children, roles, Number(a.series), Number(a.ms ?? 3000), size);
    await sleep(Number(a["warm-ms"] ?? 1500));
    // And the bench's warm count (warm-count.ts): a fixed time alone measured the compiler's phase on a loaded host.
    const warmMessages = Number(a["warm-msgs"] ?? warmMessagesFor(size));
    const warmUntil = performance.now() + WARM_COUNT_CAP_MS;
    while ((await sinkCount(children.sink!)) < warmMessages && performance.now() < warmUntil) await sleep(100);
    const read = async () => {
      const all = await Promise.all(roles.map(async (r) => {
        const c = children[r]!;
        const reply = next<{ count: number; counts: Counts }>(c, "count");
        c.send({ t: "count" });
        return [r, await reply] as const;
      }));
      const cpu = Object.fromEntries(roles.map((r) => [r, cpuOf(children[r]!.pid!)]));
      return { t: performance.now(), replies: Object.fromEntries(all), cpu };
    };
    const r0 = await read();
    await sleep(Number(a.ms ?? 1500));
    const r1 = await read();
    const messages = r1.replies.sink!.count - r0.replies.sink!.count;
    const seconds = (r1.t - r0.t) / 1e3;
    // Three decimals: at 64 B a message costs ~0.1 µs, and changes of a few ns are what is measured.
    const perMsg = (ns: number): number => Math.round((ns / messages / 1e3) * 1000) / 1000;
    const cpu: Record<string, unknown> = {};
    for (const r of roles) {
      const main = r1.cpu[r]!.main - r0.cpu[r]!.main;
      const others = r1.cpu[r]!.others - r0.cpu[r]!.others;
      const faults = r1.cpu[r]!.faults - r0.cpu[r]!.faults;
      // The kernel's share of the process's CPU (clock ticks: coarse, but the window is long).
      const user = r1.cpu[r]!.userTicks - r0.cpu[r]!.userTicks;
      const system = r1.cpu[r]!.systemTicks - r0.cpu[r]!.systemTicks;
      cpu[r] = {
        mainUs: perMsg(main),
        otherUs: perMsg(others),
        busy: Math.round((main / 1e9 / seconds) * 100),
        kernelPct: user + system > 0 ? Math.round((system / (user + system)) * 100) : 0,
        faultsPerKMsg: Math.round((faults / messages) * 1e4) / 10,
      };
    }
    const out: Record<string, unknown> = { case: relay ? "relay" : "hop", size, kmsgPerS: Math.round(messages / seconds / 1e3), cpuPerMsg: cpu };
    if (a.count) {
      const per: Record<string, Counts> = {};
      for (const r of roles) {
        const c0 = r0.replies[r]!.counts;
        const c1 = r1.replies[r]!.counts;
        per[r] = Object.fromEntries(Object.keys(c1).map((k) => [k, Math.round(((c1[k]! - (c0[k] ?? 0)) / messages) * 1000) / 1000]));
      }
      out.countsPerMsg = per;
    }
    return out;
  } finally {
    // Children exit on disconnect (so that --cpu-prof can write its profile); SIGKILL their groups after 3 s.
    await Promise.all(
      Object.values(children).map(async (c) => {
        if (c.exitCode !== null || c.signalCode !== null) return;
        const exited = once(c, "exit");
        if (c.connected) c.disconnect();
        const timer = setTimeout(() => {
          try {
            process.kill(-c.pid!, "SIGKILL");
          } catch {
            // already gone
          }
        }, 3000);
        await exited;
        clearTimeout(timer);
      }),
    );
  }
}

async function main(): Promise<void> {
  const a = args(process.argv.slice(2));
  if (a.role !== undefined) {
    process.on("disconnect", () => process.exit(0));
    if (a.count) installCounters();
    const size = Number(a.size);
    if (a.role === "sink") await sink(Number(a["ack-every"]), a["sink-pool"] !== undefined ? "pool" : a["sink-thread"] !== undefined ? "thread" : "main");
    else if (a.role === "middle") await middle(Number(a.target));
    else await sender(Number(a.port), a.hops && a.hops !== "1" ? a.hops.split(",") : [], size, Number(a.window));
    return;
  }
  for (let r = 0; r < Number(a.reps ?? 1); r++) console.log(JSON.stringify(await runOnce(a)));
}

await main();
