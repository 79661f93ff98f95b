// Quick TCP measurements (a script, not a test): every role runs in its own process, as
// in a real deployment, and every Hopwire figure comes with a raw node:net baseline
// measured in the same run.
//
//   npx tsc -b && node packages/transport-tcp/test/perf/tcp-perf.mjs \
//     [--seconds 2] [--repeat 3] [--only rt,one-hop,relay] [--json]
//
// Scenarios
//   rt         one TCP hop, one request outstanding: round trips/s
//              Hopwire: sendAndReceive(route(connection, "echoer"), 64 B) | raw: write a frame, await the echoed frame
//   one-hop    one-way throughput, 64 B and 16 KiB payloads
//              Hopwire: node.send(route(connection, "sink"), payload), honouring needsDrain | raw: u32-framed writes, corked per batch
//   relay      one-way throughput across a middle process, 64 B and 16 KiB
//              Hopwire: initiator -> middle (Relay "forward_to_bob") -> responder | baseline: the same two Hopwire
//              endpoints with a plain TCP proxy (socket.pipe both ways) as the middle
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createConnection, createServer } from "node:net";
import { cpus } from "node:os";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const self = fileURLToPath(import.meta.url);
const args = process.argv.slice(2);
const role = args[0] && !args[0].startsWith("--") ? args[0] : "main";
const option = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const say = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");

// ---- roles -------------------------------------------------------------------------------

async function hopwire() {
  const [{ node, route }, { createTcpTransport }] = await Promise.all([import("@hopwire/runtime"), import("@hopwire/transport-tcp")]);
  return { node, route, createTcpTransport };
}

/** A Hopwire node with "echoer", "sink" (counts, never decodes) and "ctl" (replies once the sink has N). */
async function hwResponder() {
  const { node, createTcpTransport } = await hopwire();
  const n = await node({ name: "responder" });
  const tcp = await createTcpTransport(n);
  let count = 0;
  let waiting;
  await n.startWorker("echoer", { handleMessage: (ctx, m) => ctx.send(m.returnRoute, m.body) }, { placement: "main" });
  await n.startWorker(
    "sink",
    {
      handleMessage() {
        count++;
        if (waiting && count >= waiting.n) waiting.resolve();
      },
    },
    { placement: "main" },
  );
  await n.startWorker(
    "ctl",
    {
      async handleMessage(ctx, m) {
        const { expect } = m.body;
        if (count < expect) await new Promise((resolve) => (waiting = { n: expect, resolve }));
        count -= expect;
        waiting = undefined;
        await ctx.send(m.returnRoute, expect);
      },
    },
    { placement: "main" },
  );
  const listener = await tcp.listen("127.0.0.1:0");
  for (const w of ["echoer", "sink", "ctl"]) n.flowControls.addConsumer(w, listener.flowControlId);
  say({ listening: listener.address });
}

async function hwMiddle(target) {
  const { node, route, createTcpTransport } = await hopwire();
  // The examples' hello Relay, built by `npx tsc -b` (quiet: no line per message).
  const { Relay } = await import("../../../../examples/dist/hello/relay.js");
  const n = await node({ name: "middle" });
  const tcp = await createTcpTransport(n);
  const toBob = await tcp.connect(target);
  await n.startWorker("forward_to_bob", new Relay(route(toBob), { quiet: true }), { placement: "main" });
  const listener = await tcp.listen("127.0.0.1:0");
  n.flowControls.addConsumer("forward_to_bob", listener.flowControlId);
  say({ listening: listener.address });
}

/** Runs one scenario against `target` through `hops` and prints its figure. */
async function hwInitiator(target, scenario, size, seconds, hops) {
  const { node, route, createTcpTransport } = await hopwire();
  const n = await node({ name: "initiator", sendAndReceiveTimeout: 120_000 });
  const tcp = await createTcpTransport(n);
  const connection = await tcp.connect(target);
  const payload = Buffer.alloc(size, 0x61);
  const to = (w) => route(connection, ...hops, w);
  if (scenario === "rt") {
    const r = to("echoer");
    for (let i = 0; i < 200; i++) await n.sendAndReceive(r, payload);
    let count = 0;
    const start = performance.now();
    const end = start + seconds * 1000;
    while (performance.now() < end) {
      await n.sendAndReceive(r, payload);
      count++;
    }
    say({ perSecond: (count / (performance.now() - start)) * 1000 });
  } else {
    const r = to("sink");
    const run = async (count) => {
      const start = performance.now();
      for (let i = 0; i < count; i++) {
        if (connection.needsDrain) await connection.waitForDrain();
        await n.send(r, payload);
      }
      await n.sendAndReceive(to("ctl"), { expect: count });
      return performance.now() - start;
    };
    await run(Math.min(20_000, countFor(size, 0.3)));
    const count = countFor(size, seconds);
    const ms = await run(count);
    say({ perSecond: (count / ms) * 1000 });
  }
  await n.stop();
}

/** Messages to send for about `seconds` (a rough guess per size; the figure is a rate anyway). */
function countFor(size, seconds) {
  return Math.round((size <= 1024 ? 300_000 : 60_000) * seconds);
}

/** Raw framed server: echoes frames ("rt") or counts them and acks with one byte per batch. */
async function rawServer() {
  const server = createServer({ noDelay: true }, (socket) => {
    let pending = [];
    let pendingLength = 0;
    let expect = -1;
    let count = 0;
    let mode;
    socket.on("data", (chunk) => {
      if (pendingLength > 0) {
        pending.push(chunk);
        chunk = Buffer.concat(pending, pendingLength + chunk.length);
        pending = [];
        pendingLength = 0;
      }
      let offset = 0;
      while (chunk.length - offset >= 4) {
        const length = chunk.readUInt32BE(offset);
        if (chunk.length - offset - 4 < length) break;
        const frame = chunk.subarray(offset + 4, offset + 4 + length);
        offset += 4 + length;
        if (mode === undefined) {
          // First frame: [mode, count].
          mode = frame[0] === 1 ? "rt" : "tput";
          expect = frame.readUInt32BE(1);
          continue;
        }
        if (mode === "rt") {
          const out = Buffer.allocUnsafe(4 + frame.length);
          out.writeUInt32BE(frame.length);
          frame.copy(out, 4);
          socket.write(out);
        } else if (++count === expect) {
          count = 0;
          socket.write(Buffer.of(1));
        }
      }
      if (offset < chunk.length) {
        pending.push(chunk.subarray(offset));
        pendingLength = chunk.length - offset;
      }
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  say({ listening: `127.0.0.1:${server.address().port}` });
}

async function rawClient(target, scenario, size, seconds) {
  const [host, port] = target.split(":");
  const socket = createConnection({ host, port: Number(port), noDelay: true });
  await once(socket, "connect");
  const frame = Buffer.alloc(4 + size, 0x61);
  frame.writeUInt32BE(size);
  const hello = (mode, count) => {
    const b = Buffer.alloc(9);
    b.writeUInt32BE(5);
    b[4] = mode;
    b.writeUInt32BE(count, 5);
    socket.write(b);
  };
  if (scenario === "rt") {
    hello(1, 0);
    let got = 0;
    let resolveOne;
    socket.on("data", (chunk) => {
      got += chunk.length;
      if (got >= frame.length) {
        got -= frame.length;
        resolveOne();
      }
    });
    const one = () => new Promise((resolve) => ((resolveOne = resolve), socket.write(frame)));
    for (let i = 0; i < 200; i++) await one();
    let count = 0;
    const start = performance.now();
    const end = start + seconds * 1000;
    while (performance.now() < end) {
      await one();
      count++;
    }
    say({ perSecond: (count / (performance.now() - start)) * 1000 });
  } else {
    const run = async (count) => {
      hello(2, count);
      const acked = once(socket, "data");
      const start = performance.now();
      // Corked batches of frames, one batch per turn, waiting for 'drain' when told to.
      for (let sent = 0; sent < count; ) {
        socket.cork();
        let ok = true;
        for (let k = 0; k < 256 && sent < count; k++, sent++) ok = socket.write(frame);
        socket.uncork();
        if (!ok) await once(socket, "drain");
        else await new Promise(setImmediate);
      }
      await acked;
      return performance.now() - start;
    };
    await run(Math.min(20_000, countFor(size, 0.3)));
    const count = countFor(size, seconds);
    const ms = await run(count);
    say({ perSecond: (count / ms) * 1000 });
  }
  socket.destroy();
}

/** A plain TCP proxy: every accepted socket is piped to a new connection to `target` and back. */
async function proxy(target) {
  const [host, port] = target.split(":");
  const server = createServer({ noDelay: true }, (client) => {
    const upstream = createConnection({ host, port: Number(port), noDelay: true });
    client.pipe(upstream).pipe(client);
    client.on("error", () => upstream.destroy());
    upstream.on("error", () => client.destroy());
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  say({ listening: `127.0.0.1:${server.address().port}` });
}

// ---- orchestration -----------------------------------------------------------------------

const children = [];
function child(...childArgs) {
  const p = spawn(process.execPath, [self, ...childArgs], { stdio: ["ignore", "pipe", "inherit"] });
  children.push(p);
  const lines = createInterface({ input: p.stdout });
  const next = () =>
    new Promise((resolve, reject) => {
      lines.once("line", (l) => resolve(JSON.parse(l)));
      p.once("exit", (code) => reject(new Error(`${childArgs[0]} exited with ${code}`)));
    });
  return { p, next };
}

async function measure(server, client) {
  const s = [];
  for (const spec of server) {
    const c = child(...spec(s.length ? s[s.length - 1].address : undefined));
    s.push({ c, address: (await c.next()).listening });
  }
  const c = child(...client(s[s.length - 1].address));
  const { perSecond } = await c.next();
  for (const { c: sc } of s) sc.p.kill();
  return perSecond;
}

async function main() {
  const seconds = Number(option("seconds", "2"));
  const repeat = Number(option("repeat", "3"));
  const only = option("only", "rt,one-hop,relay").split(",");
  const json = args.includes("--json");
  const sec = String(seconds);
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const rows = [];
  // Each figure is measured `repeat` times, alternating Hopwire and its baseline so that a
  // noisy neighbour hits both; the ratio reported is the median of the pairwise ratios.
  const pair = async (name, size, baseName, hwRun, baseRun) => {
    const hw = [];
    const base = [];
    for (let i = 0; i < repeat; i++) {
      hw.push(await hwRun());
      base.push(await baseRun());
    }
    const ratio = median(hw.map((h, i) => h / base[i]));
    const row = { scenario: name, size, hopwire: median(hw), baseline: median(base), baselineName: baseName, ratio, runs: { hw, base } };
    rows.push(row);
    if (!json) {
      const mbs = (r) => (size >= 1024 ? ` (${((r * size) / 1e6).toFixed(0)} MB/s)` : "");
      console.log(
        `${name.padEnd(8)} ${String(size).padStart(6)} B  hopwire ${Math.round(row.hopwire).toLocaleString().padStart(9)}/s${mbs(row.hopwire)}  ` +
          `${baseName} ${Math.round(row.baseline).toLocaleString().padStart(9)}/s${mbs(row.baseline)}  ratio ${ratio.toFixed(2)}  ` +
          `[pairs ${hw.map((h, i) => (h / base[i]).toFixed(2)).join(" ")}]`,
      );
    }
  };
  if (!json) console.log(`node ${process.version}, ${cpus().length} x ${cpus()[0]?.model ?? "?"}, ${seconds} s per run, ${repeat} pairs per figure`);

  const hwResponderSpec = () => ["hw-responder"];
  if (only.includes("rt")) {
    await pair(
      "rt",
      64,
      "raw framed",
      () => measure([hwResponderSpec], (a) => ["hw-initiator", a, "rt", "64", sec]),
      () => measure([() => ["raw-server"]], (a) => ["raw-client", a, "rt", "64", sec]),
    );
  }
  if (only.includes("one-hop")) {
    for (const size of [64, 16384]) {
      await pair(
        "one-hop",
        size,
        "raw framed",
        () => measure([hwResponderSpec], (a) => ["hw-initiator", a, "tput", String(size), sec]),
        () => measure([() => ["raw-server"]], (a) => ["raw-client", a, "tput", String(size), sec]),
      );
    }
  }
  if (only.includes("relay")) {
    for (const size of [64, 16384]) {
      await pair(
        "relay",
        size,
        "tcp proxy",
        () => measure([hwResponderSpec, (a) => ["hw-middle", a]], (a) => ["hw-initiator", a, "tput", String(size), sec, "forward_to_bob"]),
        () => measure([hwResponderSpec, (a) => ["proxy", a]], (a) => ["hw-initiator", a, "tput", String(size), sec]),
      );
    }
  }
  if (json) console.log(JSON.stringify({ node: process.version, cpus: cpus().length, cpu: cpus()[0]?.model, seconds, repeat, rows }, null, 2));
}

process.on("exit", () => {
  for (const c of children) if (c.exitCode === null) c.kill();
});

switch (role) {
  case "main":
    await main();
    break;
  case "hw-responder":
    await hwResponder();
    break;
  case "hw-middle":
    await hwMiddle(args[1]);
    break;
  case "hw-initiator":
    await hwInitiator(args[1], args[2], Number(args[3]), Number(args[4]), args.slice(5));
    break;
  case "raw-server":
    await rawServer();
    break;
  case "raw-client":
    await rawClient(args[1], args[2], Number(args[3]), Number(args[4]));
    break;
  case "proxy":
    await proxy(args[1]);
    break;
  default:
    throw new Error(`unknown role ${role}`);
}
