// One-way throughput through a secure channel on one node, inline vs crypto threads,
// with a raw AEAD baseline measured in the same run. Not a vitest test (*.perf.mjs).
//
//   npx tsc -b packages/secure-channel
//   node packages/secure-channel/test/perf/channel-throughput.perf.mjs [options]
//
// options (all optional):
//   --sizes=64,1024,16384     message sizes in bytes
//   --threads=0,1,2           crypto threads per channel (0 = inline)
//   --providers=node          node and/or noble (noble runs only at --noble-sizes)
//   --noble-sizes=16384
//   --seconds=1.5             measuring time per run (after a warm-up of a third of it)
//   --runs=3                  runs per configuration; the median is reported
//   --json=path               also write the results as JSON
//   --latency=false           skip the sequential round-trip latency table
//
// Setup per run: a fresh node; a secure channel listener "bob_listener" and an initiator
// over a local route (both ends on this node, same crypto-thread setting); a main-placed
// "sink" worker that counts. The sender forwards raw payloads (no msgpack encoding)
// through the channel with a bounded window of messages in flight, so the figure is the
// channel's: envelope encode + seal on one end, open + envelope decode on the other, and
// the routing in between. "main cpu µs/msg" is the CPU time of the node's main thread per
// message (Linux: /proc/self/task/<pid>/stat): what offloading frees for the I/O thread;
// "cpu µs/msg" is the whole process's (all threads). Modes are interleaved run by run so
// that a noisy machine hurts them alike; the load average is printed with the table.
import { cpus, loadavg } from "node:os";
import { readFileSync, writeFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { LocalMessage, node, route } from "@hopwire/runtime";
import {
  createIdentity,
  createSecureChannel,
  createSecureChannelListener,
  CryptoThreads,
  getCryptoProvider,
  SecureChannelListenerOptions,
  SecureChannelOptions,
} from "@hopwire/secure-channel";

const args = Object.fromEntries(
  process.argv.slice(2).map((a) => {
    const [k, v] = a.replace(/^--/, "").split("=");
    return [k, v ?? "true"];
  }),
);
const list = (v, d) => (v ?? d).split(",").filter(Boolean);
const SIZES = list(args.sizes, "64,1024,16384").map(Number);
const THREADS = list(args.threads, "0,1,2").map(Number);
const PROVIDERS = list(args.providers, "node,noble");
const NOBLE_SIZES = list(args["noble-sizes"], "16384").map(Number);
const SECONDS = Number(args.seconds ?? 1.5);
const RUNS = Number(args.runs ?? 3);

/** CPU µs used so far by the main thread (Linux), or NaN elsewhere. */
function mainThreadCpuMicros() {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) * 10_000; // clock ticks of 10 ms (CLK_TCK 100)
  } catch {
    return Number.NaN;
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (n) => (n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} k` : n.toFixed(0));
const mb = (bytesPerSecond) => `${(bytesPerSecond / 1e6).toFixed(0)} MB/s`;

/** Raw AEAD seal + open of one message, one thread, one cached key: the floor of the channel's cost. */
function rawAead(providerName, size, seconds) {
  const provider = getCryptoProvider(providerName);
  const key = new Uint8Array(32).fill(7);
  const aead = provider.createAead("AESGCM", key);
  const plaintext = new Uint8Array(size).fill(1);
  const sealed = new Uint8Array(size + 16);
  const empty = new Uint8Array(0);
  let n = 0;
  const run = (until) => {
    while (performance.now() < until) {
      for (let i = 0; i < 64; i++, n++) {
        aead.sealInto(n, empty, plaintext, sealed, 0);
        if (aead.open(n, empty, sealed) === null) throw new Error("open failed");
      }
    }
  };
  run(performance.now() + (seconds * 1000) / 3);
  n = 0;
  const start = performance.now();
  run(start + seconds * 1000);
  const elapsed = (performance.now() - start) / 1000;
  return { messagesPerSecond: n / elapsed, bytesPerSecond: (n * size) / elapsed };
}

/** Counts what arrives; wakes the sender when the window has room again. */
class Sink {
  count = 0;
  #wake = undefined;
  #at = Infinity;
  handleMessage() {
    if (++this.count >= this.#at) {
      this.#at = Infinity;
      const wake = this.#wake;
      this.#wake = undefined;
      wake?.();
    }
  }
  until(count) {
    if (this.count >= count) return Promise.resolve();
    this.#at = count;
    return new Promise((resolve) => (this.#wake = resolve));
  }
}

async function channelRun(providerName, size, threads, seconds) {
  const n = await node();
  try {
    const sink = new Sink();
    await n.startWorker("sink", sink, { placement: "main" });
    const provider = getCryptoProvider(providerName);
    const listenerOptions = new SecureChannelListenerOptions().withCryptoThreads(threads).withCryptoProvider(provider);
    const listener = await createSecureChannelListener(n, createIdentity(), "bob_listener", listenerOptions);
    n.flowControls.addConsumer("sink", listener.flowControlId);
    const channelOptions = new SecureChannelOptions().withCryptoThreads(threads).withCryptoProvider(provider);
    const channel = await createSecureChannel(n, createIdentity(), route("bob_listener"), channelOptions);
    const payload = new Uint8Array(size).fill(0x5a);
    const to = route(channel, "sink");
    const from = route("app");
    const window = Math.max(64, Math.min(8192, Math.floor((4 << 20) / size)));
    let sent = 0;
    const pump = async (until) => {
      while (performance.now() < until) {
        const target = sink.count + window;
        while (sent < target) {
          n.router.route(new LocalMessage(to, from, payload), "app");
          sent++;
        }
        await sink.until(sent - (window >> 1));
      }
      await sink.until(sent);
    };
    await pump(performance.now() + (seconds * 1000) / 3); // warm-up
    const received0 = sink.count;
    const main0 = mainThreadCpuMicros();
    const cpu0 = process.cpuUsage();
    const start = performance.now();
    await pump(start + seconds * 1000);
    const elapsed = (performance.now() - start) / 1000;
    const main = mainThreadCpuMicros() - main0;
    const cpu = process.cpuUsage(cpu0);
    const messages = sink.count - received0;
    const pool = CryptoThreads.of(n);
    return {
      messagesPerSecond: messages / elapsed,
      bytesPerSecond: (messages * size) / elapsed,
      mainMicrosPerMessage: main / messages,
      cpuMicrosPerMessage: (cpu.user + cpu.system) / messages,
      threadsUsed: pool?.threadCount ?? 0,
      messagesPerBatch: pool ? pool.stats.ops / Math.max(1, pool.stats.batches) : undefined,
      dropped: channel.droppedMessages,
    };
  } finally {
    await n.stop();
  }
}

/**
 * Latency: one message at a time, there and back through the channel (client -> channel
 * -> echoer -> channel -> client): four AEAD ops per round trip, each a thread crossing
 * when threaded. Returns the median round trip in µs.
 */
async function latencyRun(size, threads, count) {
  const n = await node();
  try {
    let wake;
    const client = {
      ctx: undefined,
      initialize(ctx) {
        this.ctx = ctx;
      },
      handleMessage() {
        wake();
      },
    };
    await n.startWorker("client", client, { placement: "main" });
    await n.startWorker("echoer", { handleMessage: (ctx, m) => ctx.forward(new LocalMessage(m.returnRoute, route("echoer"), m.payload)) }, { placement: "main" });
    const listener = await createSecureChannelListener(n, createIdentity(), "bob_listener", new SecureChannelListenerOptions().withCryptoThreads(threads));
    n.flowControls.addConsumer("echoer", listener.flowControlId);
    const channel = await createSecureChannel(n, createIdentity(), route("bob_listener"), new SecureChannelOptions().withCryptoThreads(threads));
    const payload = new Uint8Array(size).fill(1);
    const to = route(channel, "echoer");
    const from = route("client");
    const times = [];
    for (let i = 0; i < count + 100; i++) {
      const start = performance.now();
      await new Promise((resolve) => {
        wake = resolve;
        n.router.route(new LocalMessage(to, from, payload), "client");
      });
      if (i >= 100) times.push((performance.now() - start) * 1000);
    }
    return median(times);
  } finally {
    await n.stop();
  }
}

const configs = [];
for (const providerName of PROVIDERS) {
  const sizes = providerName === "noble" ? NOBLE_SIZES : SIZES;
  for (const size of sizes) configs.push({ providerName, size });
}

const results = [];
console.log(`node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? "?"}, ${SECONDS}s × ${RUNS} runs interleaved, median; load average ${loadavg().map((x) => x.toFixed(2)).join(" ")}`);
console.log("");
console.log("| provider | size | mode | msg/s | MB/s | vs inline | main cpu µs/msg | cpu µs/msg | ops/batch |");
console.log("|---|---|---|---|---|---|---|---|---|");
for (const { providerName, size } of configs) {
  const raw = [];
  for (let r = 0; r < RUNS; r++) raw.push(rawAead(providerName, size, Math.min(SECONDS, 1)));
  const rawMedian = median(raw.map((x) => x.messagesPerSecond));
  console.log(`| ${providerName} | ${size} | raw AEAD seal+open, 1 thread | ${fmt(rawMedian)} | ${mb(rawMedian * size)} | | | | |`);
  results.push({ provider: providerName, size, mode: "raw-aead", messagesPerSecond: rawMedian, bytesPerSecond: rawMedian * size });
  const byThreads = new Map(THREADS.map((t) => [t, []]));
  for (let r = 0; r < RUNS; r++) for (const threads of THREADS) byThreads.get(threads).push(await channelRun(providerName, size, threads, SECONDS));
  let inline;
  for (const threads of THREADS) {
    const runs = byThreads.get(threads);
    const pick = runs.find((x) => x.messagesPerSecond === median(runs.map((y) => y.messagesPerSecond)));
    if (threads === 0) inline = pick.messagesPerSecond;
    const mode = threads === 0 ? "channel, inline" : `channel, ${threads} crypto thread${threads > 1 ? "s" : ""}`;
    const ratio = inline ? `${(pick.messagesPerSecond / inline).toFixed(2)}×` : "";
    console.log(
      `| ${providerName} | ${size} | ${mode} | ${fmt(pick.messagesPerSecond)} | ${mb(pick.bytesPerSecond)} | ${ratio} | ${pick.mainMicrosPerMessage.toFixed(2)} | ${pick.cpuMicrosPerMessage.toFixed(2)} | ${pick.messagesPerBatch?.toFixed(0) ?? ""} |`,
    );
    results.push({ provider: providerName, size, mode: threads === 0 ? "inline" : `threads-${threads}`, ...pick, runs: runs.map((x) => x.messagesPerSecond) });
  }
}

if (args.latency !== "false") {
  console.log("");
  console.log("| size | mode | round trip median µs (sequential, 4 AEAD ops) |");
  console.log("|---|---|---|");
  for (const size of SIZES) {
    for (const threads of THREADS) {
      const runs = [];
      for (let r = 0; r < RUNS; r++) runs.push(await latencyRun(size, threads, 2000));
      const value = median(runs);
      console.log(`| ${size} | ${threads === 0 ? "inline" : `${threads} crypto thread${threads > 1 ? "s" : ""}`} | ${value.toFixed(0)} |`);
      results.push({ provider: "node", size, mode: threads === 0 ? "inline" : `threads-${threads}`, latencyMicros: value });
    }
  }
}

console.log(`\nload average after: ${loadavg().map((x) => x.toFixed(2)).join(" ")}`);
if (args.json) {
  writeFileSync(args.json, JSON.stringify({ node: process.version, loadavg: loadavg(), cpus: cpus().length, cpu: cpus()[0]?.model, seconds: SECONDS, runs: RUNS, results }, null, 2));
}
