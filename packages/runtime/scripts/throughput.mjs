// Quick throughput figures for the placements, against a hand-written batched MessagePort.
// Run after a build:  npx tsc -b && node packages/runtime/scripts/throughput.mjs [messages] [rounds]
import { cpus } from "node:os";
import { Worker } from "node:worker_threads";
import { node } from "@hopwire/runtime";
import { Blaster, Counter, Echoer } from "./throughput-workers.mjs";

const MESSAGES = Number(process.argv[2] ?? 200_000);
const ROUNDS = Number(process.argv[3] ?? 5);
/** Messages sent per turn of the event loop (so that batches look like a busy node's). */
const PER_TURN = 1024;
const PAYLOAD = new Uint8Array(62); // msgpack bin8: a 64-byte payload

const turn = () => new Promise((resolve) => setImmediate(resolve));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function measure(name, once) {
  const rates = [];
  await once(); // warm-up
  for (let r = 0; r < ROUNDS; r++) {
    const start = performance.now();
    await once();
    rates.push(MESSAGES / ((performance.now() - start) / 1000));
  }
  const fmt = (x) => Math.round(x).toLocaleString("en-US");
  console.log(`${name.padEnd(52)} ${fmt(median(rates)).padStart(12)} msg/s   (min ${fmt(Math.min(...rates))}, max ${fmt(Math.max(...rates))})`);
  return median(rates);
}

async function sendAll(n, to) {
  for (let i = 0; i < MESSAGES; ) {
    for (let k = 0; k < PER_TURN && i < MESSAGES; k++, i++) void n.send(to, PAYLOAD);
    await turn();
  }
}

console.log(`Node ${process.version}, ${cpus()[0]?.model ?? "unknown CPU"}, ${cpus().length} cores; ${MESSAGES} messages of 64 B, median of ${ROUNDS} rounds`);

// Baseline: the same frames, hand-batched (one transferred ArrayBuffer per turn), no envelopes.
{
  const thread = new Worker(new URL("./baseline-thread.mjs", import.meta.url));
  const frame = 4 + 64 + 16; // a 64-byte payload plus roughly an envelope's routes
  const reply = () => new Promise((resolve) => thread.once("message", resolve));
  await measure("baseline: batched MessagePort, main -> thread", async () => {
    for (let i = 0; i < MESSAGES; ) {
      const batchCount = Math.min(PER_TURN, MESSAGES - i);
      const buffer = new ArrayBuffer(batchCount * frame);
      const view = new DataView(buffer);
      const bytes = new Uint8Array(buffer);
      for (let k = 0; k < batchCount; k++, i++) {
        view.setUint32(k * frame, frame - 4);
        bytes.set(PAYLOAD, k * frame + 4);
      }
      thread.postMessage(buffer, [buffer]);
      await turn();
    }
    const counted = reply();
    thread.postMessage("report");
    await counted;
  });
  await thread.terminate();
}

const n = await node({ pool: { minThreads: 2, maxThreads: 2 } });
await n.startWorker("main-counter", Counter, { placement: "main" });
await measure('placement "main": main -> main worker (no crossing)', async () => {
  await sendAll(n, "main-counter");
  await n.sendAndReceive("main-counter", "report");
});

await n.startWorker("counter", Counter);
await measure('placement "thread": main -> thread', async () => {
  await sendAll(n, "counter");
  await n.sendAndReceive("counter", "report");
});

await n.startWorker("blaster", Blaster);
await n.startWorker("sink", new Counter(), { placement: "main" });
await measure('placement "thread": thread -> main', async () => {
  await n.sendAndReceive("blaster", { count: MESSAGES, to: "sink", perTurn: PER_TURN }, { timeout: 120_000 });
});

await n.startWorker("blaster-2", Blaster);
await n.startWorker("counter-2", Counter);
await measure('placement "thread": thread -> thread (via router)', async () => {
  await n.sendAndReceive("blaster-2", { count: MESSAGES, to: "counter-2", perTurn: PER_TURN }, { timeout: 120_000 });
});

await n.startWorker("pool-counter", Counter, { placement: "pool" });
await measure('placement "pool": main -> pool worker', async () => {
  await sendAll(n, "pool-counter");
  await n.sendAndReceive("pool-counter", "report");
});

await n.startWorker("echoer", Echoer);
await measure('placement "thread": echo, main -> thread -> main', async () => {
  const done = (async () => {
    for (let i = 0; i < MESSAGES; i++) await n.receive();
  })();
  await sendAll(n, "echoer");
  await done;
});

await n.stop();
