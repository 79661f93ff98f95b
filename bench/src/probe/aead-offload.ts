// Probe: the floor of "1 crypto thread ≥ 1.3× inline" — a stream of AES-256-GCM records (one per
// message, net/aead-records.ts) from a sender process to a sink process over one TCP
// connection, sealed and opened either on each process's main thread (inline) or on one worker
// thread per process (offload: the main thread hands a turn's plaintexts to its thread as one
// transferred buffer and writes the records it gets back; the sink hands each read's records
// to its thread and counts what comes back opened). No framework: what moving the AEAD off
// the main thread can gain on this host's cores at all, beside the channel's own figures.
//
//   node bench/dist/probe/aead-offload.js [--size 16384] [--seconds 2] [--warm 1.5] [--reps 3]
//
// Each rep runs inline then offload (alternating which goes first), each in fresh processes,
// and prints msg/s and the CPU per message of each process (every thread: process.cpuUsage).
import { fork } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { Worker, isMainThread, parentPort, workerData } from "node:worker_threads";
import { performance } from "node:perf_hooks";
import { connect, drainedOrClosed, listen } from "../net/endpoints.js";
import { FrameReader, FrameWriter } from "../net/frames.js";
import { RECORD_OVERHEAD, RecordOpener, RecordSealer, recordKeys } from "../net/aead-records.js";
import { checkedFlags } from "./flags.js";

const USAGE = "usage: aead-offload.js [--size 16384] [--seconds 2] [--warm 1.5] [--reps 3]";
const TURN_BYTES = 64 * 1024;
/** Batches the sender's main thread may have at its thread at once (so both keep busy). */
const IN_FLIGHT = 4;

interface Role {
  role: "sender" | "sink";
  key: string;
  size: number;
  offload: boolean;
  port?: number;
  warmMs: number;
  windowMs: number;
}

/** The worker side: seals `count` payloads (one buffer) into length-prefixed records, or opens length-prefixed records. */
function workerMain(): void {
  const { key } = workerData as { key: string };
  const sealer = new RecordSealer([key]);
  const opener = new RecordOpener([key]);
  parentPort!.on("message", (m: { op: "seal"; plain: ArrayBuffer; size: number } | { op: "open"; frames: ArrayBuffer }) => {
    if (m.op === "seal") {
      const plain = new Uint8Array(m.plain);
      const count = plain.length / m.size;
      const out = Buffer.allocUnsafe(count * (4 + RECORD_OVERHEAD + m.size));
      let at = 0;
      for (let i = 0; i < count; i++) {
        const record = sealer.seal(0, plain.subarray(i * m.size, (i + 1) * m.size));
        out.writeUInt32BE(record.length, at);
        out.set(record, at + 4);
        at += 4 + record.length;
      }
      const ab = out.buffer.slice(out.byteOffset, out.byteOffset + at);
      parentPort!.postMessage(ab, [ab]);
    } else {
      let opened = 0;
      new FrameReader((record) => {
        opener.open(record);
        opened++;
      }).push(Buffer.from(m.frames));
      parentPort!.postMessage(opened);
    }
  });
}

async function sender(p: Role): Promise<void> {
  const socket = await connect({ port: p.port! });
  socket.on("error", () => {});
  const payload = new Uint8Array(p.size).fill(0xab);
  const perTurn = Math.max(1, Math.ceil(TURN_BYTES / p.size));
  let gone = false;
  socket.once("close", () => (gone = true));
  if (!p.offload) {
    const sealer = new RecordSealer([p.key]);
    const writer = new FrameWriter(socket);
    while (!gone) {
      for (let i = 0; i < perTurn; i++) writer.push(sealer.seal(0, payload));
      if (writer.flush()) await new Promise((resolve) => setImmediate(resolve));
      else await drainedOrClosed(socket);
    }
    return;
  }
  const thread = new Worker(fileURLToPath(import.meta.url), { workerData: { key: p.key } });
  await once(thread, "online");
  let inFlight = 0;
  let wake: (() => void) | undefined;
  thread.on("message", (records: ArrayBuffer) => {
    inFlight--;
    socket.write(Buffer.from(records)); // records in order: the thread seals them in the order asked
    wake?.();
  });
  const plain = (): ArrayBuffer => {
    const batch = new Uint8Array(perTurn * p.size);
    for (let i = 0; i < perTurn; i++) batch.set(payload, i * p.size); // the plaintext crosses once, as into a batch
    return batch.buffer;
  };
  while (!gone) {
    while (inFlight < IN_FLIGHT) {
      const ab = plain();
      thread.postMessage({ op: "seal", plain: ab, size: p.size }, [ab]);
      inFlight++;
    }
    if (socket.writableNeedDrain) await drainedOrClosed(socket);
    else await new Promise<void>((resolve) => (wake = resolve));
    wake = undefined;
  }
  await thread.terminate();
}

async function sink(p: Role): Promise<void> {
  let counted = 0;
  let first = -1;
  let start = -1;
  let m0 = 0;
  let c0 = process.cpuUsage();
  const count = (n: number): void => {
    const now = performance.now();
    if (first < 0) first = now;
    counted += n;
    if (start < 0 && now >= first + p.warmMs) {
      start = now;
      m0 = counted;
      c0 = process.cpuUsage();
      process.send!({ type: "mark" });
    } else if (start >= 0 && now >= start + p.windowMs) {
      const cpu = process.cpuUsage(c0);
      const messages = counted - m0;
      process.send!({ type: "done", msgPerS: messages / ((now - start) / 1e3), cpuUsPerMsg: (cpu.user + cpu.system) / messages });
      process.exit(0);
    }
  };
  const opener = new RecordOpener([p.key]);
  const thread = p.offload ? new Worker(fileURLToPath(import.meta.url), { workerData: { key: p.key } }) : undefined;
  thread?.on("message", (opened: number) => count(opened));
  const listening = await listen(false, (socket) => {
    const reader = new FrameReader((record) => {
      opener.open(record);
      count(1);
    });
    // Offload: each read's bytes go to the thread as they came (a copy: the read's buffer stays ours); whole
    // records are cut there, and a record split across reads is joined here first.
    let held: Buffer | undefined;
    socket.on("data", (chunk: Buffer) => {
      if (!thread) return reader.push(chunk);
      const bytes = held ? Buffer.concat([held, chunk]) : chunk;
      let end = 0;
      while (end + 4 <= bytes.length && end + 4 + bytes.readUInt32BE(end) <= bytes.length) end += 4 + bytes.readUInt32BE(end);
      held = end < bytes.length ? Buffer.from(bytes.subarray(end)) : undefined;
      if (end === 0) return;
      const frames = new Uint8Array(end);
      frames.set(bytes.subarray(0, end));
      thread.postMessage({ op: "open", frames: frames.buffer }, [frames.buffer]);
    });
  });
  process.send!({ type: "ready", port: listening.port });
}

async function runOnce(size: number, offload: boolean, warmMs: number, windowMs: number): Promise<{ msgPerS: number; sinkCpu: number; senderCpu: number }> {
  const key = recordKeys(1)[0]!;
  const script = fileURLToPath(import.meta.url);
  const base = { key, size, offload, warmMs, windowMs };
  const sinkChild = fork(script, [JSON.stringify({ ...base, role: "sink" })]);
  const senderCpu: number[] = [];
  try {
    const [ready] = (await once(sinkChild, "message")) as [{ port: number }];
    const senderChild = fork(script, [JSON.stringify({ ...base, role: "sender", port: ready.port })]);
    try {
      // The sender's CPU over the sink's window: it reports its cpuUsage when asked at the mark and at the end.
      const [mark] = (await once(sinkChild, "message")) as [{ type: string }];
      if (mark.type !== "mark") throw new Error("the sink did not mark its window");
      senderChild.send("cpu");
      senderCpu.push(((await once(senderChild, "message")) as [number])[0]);
      const [done] = (await once(sinkChild, "message")) as [{ msgPerS: number; cpuUsPerMsg: number }];
      senderChild.send("cpu");
      senderCpu.push(((await once(senderChild, "message")) as [number])[0]);
      const messages = (done.msgPerS * windowMs) / 1e3;
      return { msgPerS: done.msgPerS, sinkCpu: done.cpuUsPerMsg, senderCpu: (senderCpu[1]! - senderCpu[0]!) / messages };
    } finally {
      senderChild.kill();
    }
  } finally {
    sinkChild.kill();
  }
}

if (!isMainThread) workerMain();
else if (process.argv[2]?.startsWith("{")) {
  const p = JSON.parse(process.argv[2]) as Role;
  process.on("disconnect", () => process.exit(2)); // an orphan must not keep a core busy
  process.on("message", () => {
    const c = process.cpuUsage();
    process.send!(c.user + c.system);
  });
  void (p.role === "sink" ? sink(p) : sender(p));
} else {
  const flags = checkedFlags(process.argv.slice(2), { size: "count", seconds: "number", warm: "number", reps: "count" }, USAGE);
  const size = Number(flags.size ?? 16384);
  const windowMs = Number(flags.seconds ?? 2) * 1e3;
  const warmMs = Number(flags.warm ?? 1.5) * 1e3;
  const reps = Number(flags.reps ?? 3);
  for (let rep = 0; rep < reps; rep++) {
    const order = rep % 2 === 0 ? [false, true] : [true, false];
    const row: Record<string, unknown> = { size, rep };
    for (const offload of order) {
      const r = await runOnce(size, offload, warmMs, windowMs);
      row[offload ? "offload" : "inline"] = { msgPerS: Math.round(r.msgPerS), sinkCpuUsPerMsg: +r.sinkCpu.toFixed(2), senderCpuUsPerMsg: +r.senderCpu.toFixed(2) };
    }
    const inline = row.inline as { msgPerS: number };
    const offloaded = row.offload as { msgPerS: number };
    row.ratio = +(offloaded.msgPerS / inline.msgPerS).toFixed(2);
    console.log(JSON.stringify(row));
  }
}
