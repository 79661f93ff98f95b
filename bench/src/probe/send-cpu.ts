// Probe: what one send and its delivery cost on one thread, with no crossing and no socket: a
// worker placed "main" counts the bytes bodies the node's own context sends it, awaiting one
// send in 1 024 (so the mailbox's bound paces the loop). Prints wall and process CPU time per
// message for each round after the first (the first warms up). Run two checkouts alternately
// to compare them in the same minutes:
//
//   node bench/dist/probe/send-cpu.js [--size 1024] [--n 1000000] [--rounds 3]
import { node, type Worker } from "@hopwire/runtime";
import { parseFlags } from "./flags.js";

const flags = parseFlags(process.argv.slice(2));
const size = Number(flags.size ?? 1024);
const n = Number(flags.n ?? 1_000_000);
const rounds = Number(flags.rounds ?? 3);

class Counter implements Worker {
  count = 0;
  handleMessage(): void {
    this.count++;
  }
}

const hopwire = await node({ warnings: false });
const counter = new Counter();
await hopwire.startWorker("sink", counter, { placement: "main" });
const body = new Uint8Array(size).fill(1);
for (let round = 0; round < rounds; round++) {
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    const sent = hopwire.send("sink", body);
    if ((i & 1023) === 1023) await sent;
  }
  while (counter.count < n * (round + 1)) await new Promise((resolve) => setImmediate(resolve));
  const cpu = process.cpuUsage(c0);
  if (round > 0) {
    const wallNs = Number(process.hrtime.bigint() - t0) / n;
    console.log(JSON.stringify({ size, n, wallNsPerMsg: Math.round(wallNs), cpuNsPerMsg: Math.round(((cpu.user + cpu.system) * 1000) / n) }));
  }
}
await hopwire.stop();
