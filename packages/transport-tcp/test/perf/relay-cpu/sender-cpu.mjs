// Usage: node sender-cpu.mjs <worktree> <size> <messages>: CPU µs per message of a process that sends through one connection to a raw sink (compares builds, e.g. the idle-first flush).
import { fork } from "node:child_process";
import { once } from "node:events";
const [wt, sizeText, countText] = process.argv.slice(2);
const size = Number(sizeText), count = Number(countText);
const rt = await import(`${wt}/packages/runtime/dist/index.js`);
const tcpMod = await import(`${wt}/packages/transport-tcp/dist/index.js`);
const child = fork(new URL("./sink.mjs", import.meta.url));
const [port] = await once(child, "message");
const n = await rt.node({ name: "a" });
const tcp = await tcpMod.createTcpTransport(n);
const c = await tcp.connect(`127.0.0.1:${port}`);
const msg = new rt.LocalMessage(rt.route(c, "sink"), rt.Route.EMPTY, new Uint8Array(size).fill(1));
const perTurn = Math.max(1, Math.floor(65536 / size));
const turn = () => new Promise((r) => setImmediate(r));
async function run(total) {
  let sent = 0;
  while (sent < total) {
    for (let k = 0; k < perTurn && sent < total && !c.needsDrain; k++) { n.router.route(msg, undefined); sent++; }
    if (c.needsDrain) await c.waitForDrain(); else await turn();
  }
  while (c.bufferedBytes > 0) await turn();
}
await run(Math.floor(count / 5));
const cpu0 = process.cpuUsage(); const t0 = performance.now();
await run(count);
const cpu = process.cpuUsage(cpu0); const t = performance.now() - t0;
console.log(JSON.stringify({ wt, size, usPerMsg: (cpu.user + cpu.system) / count, wallMsgPerS: Math.round(count / t * 1000) }));
await n.stop(); child.disconnect();
