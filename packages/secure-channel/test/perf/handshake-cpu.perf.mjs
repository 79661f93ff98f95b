// CPU time per secure-channel handshake, per side. Not a vitest test (*.perf.mjs).
//
//   npx tsc -b packages/secure-channel
//   node packages/secure-channel/test/perf/handshake-cpu.perf.mjs [options]
//
// options (all optional):
//   --mode=tcp|machines   tcp: responder in a child process, initiator here, over TCP on
//                         127.0.0.1, createSecureChannel + close `--in-flight` at a time (what
//                         bench secure-channel/handshakes does); machines: the two handshake
//                         state machines alone in this process (Noise, identity payloads,
//                         trust; no channel ends, routing or sockets)
//   --handshakes=2000     measured handshakes per run (after --warmup=300)
//   --in-flight=8
//   --runs=3              the median of each figure is reported
//   --provider=node
//
// CPU is process.cpuUsage() (user + system, all threads) over the measured handshakes, per
// side, so it does not depend on how busy the rest of a shared machine is as much as a
// rate does (caches and frequency still do: compare A/B in the same minute).
import { fork } from "node:child_process";
import { readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { node, route } from "@hopwire/runtime";
import { createTcpTransport, TcpConnectionOptions, TcpListenerOptions } from "@hopwire/transport-tcp";
import * as sc from "@hopwire/secure-channel";
// The state machines are not public API: from the build, as the package's own code sees them.
import { InitiatorHandshake, ResponderHandshake } from "../../dist/handshake/index.js";

const args = Object.fromEntries(process.argv.slice(2).map((a) => a.replace(/^--/, "").split("=")));
const mode = args.mode ?? "tcp";
const total = Number(args.handshakes ?? 2000);
const warmup = Number(args.warmup ?? 300);
const inFlight = Number(args["in-flight"] ?? 8);
const runs = Number(args.runs ?? 3);
const provider = args.provider ?? "node";
const cpu = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};
/** write() system calls of this process so far (Linux; 0 elsewhere): one flight per write is the cost to avoid. */
const writes = () => {
  try {
    return Number(/syscw: (\d+)/.exec(readFileSync("/proc/self/io", "utf8"))?.[1] ?? 0);
  } catch {
    return 0;
  }
};
const staticKeys = new Map();
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

if (process.argv.includes("--responder")) {
  const n = await node({ name: "responder" });
  const tcp = await createTcpTransport(n);
  const listener = await tcp.listen("127.0.0.1:0", new TcpListenerOptions());
  const options = new sc.SecureChannelListenerOptions().withCryptoProvider(provider).withCryptoThreads(0).asConsumer(listener.flowControlId);
  await sc.createSecureChannelListener(n, sc.createIdentity(), "bob_listener", options);
  process.on("message", (m) => {
    if (m === "mark") process.send({ cpu: cpu(), writes: writes() });
    if (m === "stop") void n.stop().then(() => process.exit(0));
  });
  process.send({ port: Number(listener.address.slice(listener.address.lastIndexOf(":") + 1)) });
} else {
  const results = [];
  for (let r = 0; r < runs; r++) results.push(mode === "machines" ? await machines() : await overTcp());
  const pick = (k) => median(results.map((x) => x[k]));
  console.log(`load ${loadavg().map((l) => l.toFixed(1)).join(" ")}; ${mode}, ${provider}, ${total} handshakes × ${runs} runs, ${inFlight} in flight`);
  console.log(`initiator ${pick("initiator").toFixed(0)} µs/handshake, responder ${pick("responder").toFixed(0)} µs/handshake` + (mode === "tcp" ? `, ${pick("rate").toFixed(0)} handshakes/s (wall, noisy); writes per handshake: initiator ${pick("initiatorWrites").toFixed(2)}, responder ${pick("responderWrites").toFixed(2)}` : ""));
}

/** The two state machines, back to back in this process; each side's CPU counted separately. */
async function machines() {
  const p = sc.getCryptoProvider(provider);
  const [alice, bob] = [sc.createIdentity(p), sc.createIdentity(p)];
  const trustPolicy = sc.trustEveryone();
  const sent = (actions) => actions.find((a) => a.type === "send").message;
  let initiator = 0;
  let responder = 0;
  const side = async (add, run) => {
    const c0 = cpu();
    const out = await run();
    add(cpu() - c0);
    return out;
  };
  const once = async () => {
    const toI = (t) => (initiator += t);
    const toR = (t) => (responder += t);
    // noiseStaticKeyPair omitted: the machines would make one per handshake; channels use one per identity.
    const i = await side(toI, () => new InitiatorHandshake({ identity: alice, trustPolicy, provider: p, noiseStaticKeyPair: staticKey(alice, p) }));
    const r = await side(toR, () => new ResponderHandshake({ identity: bob, trustPolicy, provider: p, noiseStaticKeyPair: staticKey(bob, p) }));
    const m1 = await side(toI, async () => sent(await i.handle({ type: "initialize" })));
    const m2 = await side(toR, async () => sent(await r.handle({ type: "message", message: m1 })));
    const m3 = await side(toI, async () => sent(await i.handle({ type: "message", message: m2 })));
    await side(toR, () => r.handle({ type: "message", message: m3 }));
  };
  for (let k = 0; k < warmup; k++) await once();
  initiator = responder = 0;
  for (let k = 0; k < total; k++) await once();
  return { initiator: initiator / total, responder: responder / total };
}

/** One Noise static key per identity, as channels use (noise-static-key.ts is internal). */
function staticKey(identity, p) {
  if (!staticKeys.has(identity)) staticKeys.set(identity, p.x25519.generateKeyPair());
  return staticKeys.get(identity);
}

/** createSecureChannel + close over TCP between this process and a responder child. */
async function overTcp() {
  const child = fork(fileURLToPath(import.meta.url), ["--responder", `--provider=${provider}`], { stdio: ["ignore", "inherit", "ignore", "ipc"] });
  const next = () => new Promise((resolve) => child.once("message", resolve));
  try {
    const { port } = await next();
    const n = await node({ name: "initiator" });
    try {
      const connection = await (await createTcpTransport(n)).connect(`127.0.0.1:${port}`, new TcpConnectionOptions());
      const alice = sc.createIdentity();
      const options = new sc.SecureChannelOptions().withCryptoProvider(provider).withCryptoThreads(0);
      const to = route(connection, "bob_listener");
      const handshakes = async (count) => {
        let left = count;
        const loop = async () => {
          while (left-- > 0) await (await sc.createSecureChannel(n, alice, to, options)).close();
        };
        await Promise.all(Array.from({ length: inFlight }, loop));
      };
      await handshakes(warmup);
      const mark = () => (child.send("mark"), next());
      const r0 = await mark();
      const c0 = cpu();
      const w0 = writes();
      const t0 = performance.now();
      await handshakes(total);
      const seconds = (performance.now() - t0) / 1e3;
      const c1 = cpu();
      const w1 = writes();
      const r1 = await mark();
      return {
        initiator: (c1 - c0) / total,
        responder: (r1.cpu - r0.cpu) / total,
        rate: total / seconds,
        initiatorWrites: (w1 - w0) / total,
        responderWrites: (r1.writes - r0.writes) / total,
      };
    } finally {
      await n.stop();
    }
  } finally {
    child.send("stop");
    setTimeout(() => child.kill(), 2000).unref();
  }
}
