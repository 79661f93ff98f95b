// What an idle, open secure channel holds at its responder. Not a vitest test (*.perf.mjs).
//
//   npx tsc -b packages/secure-channel
//   node --expose-gc packages/secure-channel/test/perf/idle-channel-memory.perf.mjs [N=1000] [--snapshots] [--reps=3]
//
// Two processes over real TCP on 127.0.0.1 (port 0): this one is the responder (a node, a TCP
// listener, a secure channel listener that consumes its flow, as bench/src/roles/scale-responder.ts
// sets them up); a forked child is the initiator, which opens channels on request, 100
// handshakes at a time as the bench does, and keeps them open. The responder reads its memory
// after full GCs with N channels open and again with 2N, and reports the marginal cost per
// channel, (reading at 2N − reading at N) / N: fixed costs (malloc's high-water mark from
// handshake garbage, code, caches) are in both readings and cancel. V8's young generation does
// not quite: its pages become resident as allocation first reaches them, up to 32 MiB over
// several readings, so "rss less young" takes its resident growth off (as scale/channels does).
// 100 channels are opened first and never counted. With --reps=k, each repetition opens N
// more and 2N more on top of what is open (k rows, then the medians): the first row still
// carries some of malloc's growth, and a shared hash table (the router's, the flow controls')
// that doubles inside one step lands in that row's figure.
//
// --snapshots: a heap snapshot at N and at 2N instead of the RSS readings (writing one costs
// native memory, so it would spoil them), diffed by type: bytes and objects per channel.
// Snapshots see the V8 heap (and some native objects that describe themselves); RSS sees all.
// KEEP_SNAPSHOTS=1 keeps the two files (their paths are printed) for a closer look.
import { fork } from "node:child_process";
import { readFileSync, unlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getHeapSpaceStatistics, writeHeapSnapshot } from "node:v8";

const WAVE = 100; // handshakes in flight while opening (as the bench's OPEN_CONCURRENCY)
const WARM = 100; // channels opened first and never counted: code compiled, caches and tables made

if (process.argv[2] === "--initiator") await initiator(Number(process.argv[3]));
else await responder();

async function responder() {
  const args = process.argv.slice(2);
  const N = Number(args.find((a) => /^\d+$/.test(a)) ?? 1000);
  const snapshots = args.includes("--snapshots");
  const reps = Number(args.find((a) => a.startsWith("--reps="))?.slice(7) ?? 1);
  if (typeof global.gc !== "function") throw new Error("run with node --expose-gc");
  const { node } = await import("@hopwire/runtime");
  const { createTcpTransport, TcpListenerOptions } = await import("@hopwire/transport-tcp");
  const sc = await import("@hopwire/secure-channel");

  const bob = await node({ name: "responder" });
  const tl = await (await createTcpTransport(bob)).listen("127.0.0.1:0", new TcpListenerOptions());
  const scl = await sc.createSecureChannelListener(bob, await sc.createIdentity(), "listener", new sc.SecureChannelListenerOptions().asConsumer(tl.flowControlId).withMaxChannelsPerConnection(sc.DEFAULT_MAX_CHANNELS));
  // Every channel comes over the initiator's one connection: the listener's whole limit (16 384) is that connection's here.
  await bob.startWorker("sink", { handleMessage() {} }, { placement: "main" });
  bob.flowControls.addConsumer("sink", scl.flowControlId);

  const child = fork(new URL(import.meta.url).pathname, ["--initiator", tl.address.slice(tl.address.lastIndexOf(":") + 1)], { stdio: "inherit" });
  const replies = [];
  let wake;
  child.on("message", (m) => (replies.push(m), wake?.()));
  const ask = async (open) => {
    child.send({ open });
    while (replies.length === 0) await new Promise((r) => (wake = r));
    const reply = replies.shift();
    if (reply.error) throw new Error(`initiator: ${reply.error}`);
    return reply;
  };
  const openUpTo = async (total) => {
    await ask(total - scl.channelCount);
    const t = Date.now();
    while (scl.channelCount !== total || scl.pendingHandshakes !== 0) {
      if (Date.now() - t > 10_000) throw new Error(`stuck at ${scl.channelCount} channels, ${scl.pendingHandshakes} pending`);
      await new Promise((r) => setTimeout(r, 20));
    }
    await new Promise((r) => setTimeout(r, 200)); // the initiators' opening records arrive
    await settle();
  };

  await openUpTo(WARM);
  const rows = [];
  for (let rep = 0, total = WARM; rep < reps; rep++) {
    await openUpTo((total += N));
    // Snapshots are only written here and read after both: what reading one leaves in the
    // heap (its summary) must not be in the next.
    const first = snapshots ? writeHeapSnapshot(join(tmpdir(), `idle-channel-${process.pid}-n.heapsnapshot`)) : reading();
    await openUpTo((total += N));
    const second = snapshots ? writeHeapSnapshot(join(tmpdir(), `idle-channel-${process.pid}-2n.heapsnapshot`)) : reading();
    if (snapshots) printSnapshotDiff(summarize(first), summarize(second), N);
    else rows.push(marginal(first, second, N, total));
  }
  if (!snapshots) {
    console.table(rows);
    const mid = (k) => rows.map((r) => r[k]).sort((a, b) => a - b)[Math.floor(rows.length / 2)];
    if (rows.length > 1) console.log(`median per channel: rss ${mid("rss B/ch")} B (less young gen growth ${mid("rss less young B/ch")} B), heapUsed ${mid("heapUsed B/ch")} B, heapTotal ${mid("heapTotal B/ch")} B, external ${mid("external B/ch")} B`);
  }
  child.send({ exit: true });
  process.exit(0);
}

/** Full GCs, with turns in between for weak callbacks (OpenSSL cipher contexts are freed by them). */
async function settle() {
  for (let i = 0; i < 4; i++) {
    global.gc();
    await new Promise((r) => setTimeout(r, 50));
  }
}

function reading() {
  const m = process.memoryUsage();
  // Resident pages, not space_size: V8 commits a grown young generation at once but its pages
  // become resident as allocation first reaches them, often readings later (as scale/channels reads it).
  const young = getHeapSpaceStatistics().find((s) => s.space_name === "new_space")?.physical_space_size ?? 0;
  return { ...m, young };
}

function marginal(a, b, n, total) {
  const per = (k) => Math.round((b[k] - a[k]) / n);
  return {
    channels: `${total - n}→${total}`,
    "rss B/ch": per("rss"),
    "rss less young B/ch": Math.round((b.rss - a.rss - (b.young - a.young)) / n),
    "heapUsed B/ch": per("heapUsed"),
    "heapTotal B/ch": per("heapTotal"),
    "external B/ch": per("external"),
    "arrayBuffers B/ch": per("arrayBuffers"),
    "young gen Δ KiB": Math.round((b.young - a.young) / 1024),
    "rss at 2N MiB": +(b.rss / 2 ** 20).toFixed(1),
  };
}

/** A heap snapshot file reduced to { key: [selfBytes, count] }; the file is removed (kept with KEEP_SNAPSHOTS=1). */
function summarize(file) {
  const json = JSON.parse(readFileSync(file, "utf8"));
  if (process.env.KEEP_SNAPSHOTS) console.log(`kept ${file}`);
  else unlinkSync(file);
  const fields = json.snapshot.meta.node_fields;
  const types = json.snapshot.meta.node_types[0];
  const [T, NAME, SIZE, F] = [fields.indexOf("type"), fields.indexOf("name"), fields.indexOf("self_size"), fields.length];
  const out = new Map();
  const nodes = json.nodes;
  for (let i = 0; i < nodes.length; i += F) {
    const key = keyOf(types[nodes[i + T]], json.strings[nodes[i + NAME]]);
    const entry = out.get(key) ?? [0, 0];
    entry[0] += nodes[i + SIZE];
    entry[1]++;
    out.set(key, entry);
  }
  return out;
}

/** Groups snapshot nodes: objects by constructor, closures by function name, strings and numbers together. */
function keyOf(type, name) {
  switch (type) {
    case "object":
      return name;
    case "closure":
      return `closure ${name || "(anonymous)"}`;
    case "string":
    case "concatenated string":
    case "sliced string":
      return `(${type})`;
    case "number":
      return "(heap number)";
    case "native":
      return `native ${name}`;
    default:
      return `${type} ${name.length > 60 ? name.slice(0, 60) + "…" : name}`;
  }
}

function printSnapshotDiff(a, b, n) {
  const rows = [];
  let total = 0;
  for (const [key, [bytes, count]] of b) {
    const [bytes0, count0] = a.get(key) ?? [0, 0];
    const perBytes = (bytes - bytes0) / n;
    total += perBytes;
    if (Math.abs(perBytes) >= 4 || Math.abs(count - count0) / n >= 0.5) rows.push({ type: key, "B/ch": +perBytes.toFixed(1), "objects/ch": +((count - count0) / n).toFixed(2) });
  }
  rows.sort((x, y) => y["B/ch"] - x["B/ch"]);
  console.table(rows);
  console.log(`snapshot total per channel: ${total.toFixed(0)} B (self sizes of every node, V8 heap and the native nodes it reports)`);
}

/** The forked initiator: opens channels when asked, keeps them, reports back. */
async function initiator(port) {
  const { node, route } = await import("@hopwire/runtime");
  const { createTcpTransport, TcpConnectionOptions } = await import("@hopwire/transport-tcp");
  const { createIdentity, createSecureChannel } = await import("@hopwire/secure-channel");
  const alice = await node({ name: "initiator" });
  const connection = await (await createTcpTransport(alice)).connect(`127.0.0.1:${port}`, new TcpConnectionOptions());
  const identity = await createIdentity();
  const to = route(connection, "listener");
  const channels = [];
  process.on("message", async (m) => {
    if (m.exit) process.exit(0);
    try {
      for (let opened = 0; opened < m.open; ) {
        const wave = Math.min(WAVE, m.open - opened);
        channels.push(...(await Promise.all(Array.from({ length: wave }, () => createSecureChannel(alice, identity, to)))));
        opened += wave;
      }
      process.send({ opened: channels.length });
    } catch (error) {
      process.send({ error: String(error?.message ?? error) });
    }
  });
}
