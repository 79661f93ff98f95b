// Probe: CPU per send that waits for room. One node, a worker placed "main" with a small
// mailbox, and a sender that queues sends without awaiting each (up to --batch at a time),
// so nearly every send waits in the context's send queue and is written when the mailbox
// has room: what a fast producer behind a slow worker costs per message.
//
//   node bench/dist/probe/waiting-sends.js [--n 200000] [--reps 5] [--mailbox 64] [--batch 4096]
//
// Prints process CPU (user + system) per send for each repetition, and the median.
import { node, route, type Worker } from "@hopwire/runtime";
import { checkedFlags } from "./flags.js";

const flags = checkedFlags(
  process.argv.slice(2),
  { n: "count", reps: "count", mailbox: "count", batch: "count" },
  "usage: waiting-sends.js [--n 200000] [--reps 5] [--mailbox 64] [--batch 4096]",
);
const n = Number(flags.n ?? 200_000);
const reps = Number(flags.reps ?? 5);
const mailbox = Number(flags.mailbox ?? 64);
const batch = Number(flags.batch ?? 4096);

class CountingSink implements Worker {
  received = 0;
  handleMessage(): void {
    this.received++;
  }
}

const cpuUs = (): number => {
  const u = process.resourceUsage();
  return u.userCPUTime + u.systemCPUTime;
};

const hopwire = await node({ name: "waiting-sends" });
const sink = new CountingSink();
await hopwire.startWorker("sink", sink, { placement: "main", mailbox: { maxMessages: mailbox } });
const payload = new Uint8Array(64);
const to = route("sink");

async function repetition(): Promise<number> {
  const before = cpuUs();
  const pending: Promise<void>[] = [];
  for (let i = 0; i < n; i++) {
    pending.push(hopwire.send(to, payload));
    if (pending.length === batch) {
      await Promise.all(pending);
      pending.length = 0;
    }
  }
  await Promise.all(pending);
  return (cpuUs() - before) / n;
}

const perSend: number[] = [];
for (let r = 0; r < reps; r++) perSend.push(await repetition());
await hopwire.stop();
const sorted = [...perSend].sort((a, b) => a - b);
console.log(JSON.stringify({ n, mailbox, batch, received: sink.received, cpuUsPerSend: perSend.map((v) => Number(v.toFixed(3))), median: Number(sorted[sorted.length >> 1]!.toFixed(3)) }));
