// Probe: what one send and its delivery cost, with no socket: a worker counts the bytes bodies
// the node's own context sends it, 64 KiB of them a turn (at most 1 024), awaiting the turn's
// last send (so the mailbox's bound paces the loop). The worker is placed "main" (no crossing),
// or with `--to thread` on a thread of its own (runtime/main->thread's path), or with `--to pool`
// in a pool of one slot (runtime/pool's path). Prints wall time, process CPU time, the main
// thread's own CPU time and the other threads' (the sink's thread or slot, V8's helpers) per
// message, and the process's minor page faults per 1 000 messages, for each round after the
// first (the first warms up). Run two checkouts alternately to compare them in the same minutes:
//
//   node bench/dist/probe/send-cpu.js [--size 1024] [--n 1000000] [--rounds 3] [--to main|thread|pool] [--send plain|catch|try]
//                                     [--route kept|text]
//
// --send: how each message is sent: `send` with its promise dropped (plain, the default), `send`
// with a handler on each promise (catch: `.catch(noop)`, as a loop that handles failures must),
// or `trySend`, `send` for one it refuses (try: the docs' streaming loop).
//
// --route: where each send goes: one Route object kept for all (kept, the default, as the
// bench's Blaster does), or the text "sink" (text: `send("sink", body)`, as a loop is usually written).
import { node, route, type Route, type Worker } from "@hopwire/runtime";
import { CountSink } from "./count-sink.js";
import { checkedFlags } from "./flags.js";
import { threadCpuNs } from "../proc/thread-cpu.js";

const flags = checkedFlags(
  process.argv.slice(2),
  { size: "number", n: "count", rounds: "count", to: ["main", "thread", "pool"], send: ["plain", "catch", "try"], route: ["kept", "text"] },
  "usage: send-cpu.js [--size 1024] [--n 1000000] [--rounds 3] [--to main|thread|pool] [--send plain|catch|try] [--route kept|text]",
);
const size = Number(flags.size ?? 1024);
const n = Number(flags.n ?? 1_000_000);
const rounds = Number(flags.rounds ?? 3);
const to = flags.to ?? "main";
const how = flags.send ?? "plain";
const noop = (): void => {};
if (to !== "main" && to !== "thread" && to !== "pool") {
  console.error("--to is main, thread or pool");
  process.exit(2);
}

class Counter implements Worker {
  count = 0;
  handleMessage(): void {
    this.count++;
  }
}

// One pool slot (as runtime/pool): the sink's count is that slot's instance's, which the count query reaches too.
const hopwire = await node({ warnings: false, pool: { minThreads: 1, maxThreads: 1 } });
const counter = new Counter();
if (to === "main") await hopwire.startWorker("sink", counter, { placement: "main" });
else await hopwire.startWorker("sink", CountSink, { placement: to });
/** Messages the sink has counted (a thread's or slot's sink answers a short control message with its count). */
const counted = async (): Promise<number> => (to === "main" ? counter.count : await hopwire.sendAndReceive<number>("sink", 0));
const body = new Uint8Array(size).fill(1);
const sinkRoute: Route | string = flags.route === "text" ? "sink" : route("sink");
const perTurn = Math.max(1, Math.min(1024, Math.floor(65536 / size)));
for (let round = 0; round < rounds; round++) {
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  const threads0 = threadCpuNs();
  const f0 = process.resourceUsage().minorPageFault;
  for (let i = 0; i < n; i++) {
    let sent: Promise<void> | undefined;
    if (how === "try") {
      if (!hopwire.trySend(sinkRoute, body)) sent = hopwire.send(sinkRoute, body);
    } else {
      sent = hopwire.send(sinkRoute, body);
      if (how === "catch") sent.catch(noop);
    }
    // A turn's worth (64 KiB, at most 1 024 messages), as the bench's sources send: the
    // awaited send paces the loop by the mailbox's bound, the new turn lets batches go.
    if (i % perTurn === perTurn - 1) {
      await sent;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
  while ((await counted()) < n * (round + 1)) await new Promise((resolve) => setImmediate(resolve));
  const cpu = process.cpuUsage(c0);
  const threads = threadCpuNs();
  const mainUs = (threads.main - threads0.main) / 1000;
  const othersUs = (threads.others - threads0.others) / 1000;
  const faults = process.resourceUsage().minorPageFault - f0;
  if (round > 0) {
    const wallNs = Number(process.hrtime.bigint() - t0) / n;
    const perMsg = (us: number): number => Math.round((us * 1000) / n);
    console.log(JSON.stringify({ size, n, to, send: how, wallNsPerMsg: Math.round(wallNs), cpuNsPerMsg: perMsg(cpu.user + cpu.system), mainThreadCpuNsPerMsg: perMsg(mainUs), otherThreadsCpuNsPerMsg: perMsg(othersUs), faultsPerKMsg: Math.round((faults * 1000) / n) }));
  }
}
await hopwire.stop();
