// Usage: node middle.mjs <worktree> <hello|builtin> <size> <count>: a middle node relaying a raw flooder's frames to a raw sink; prints the middle process's CPU µs per message (all its threads), its rate and RSS. <worktree> is a built checkout, so two builds can be compared.
import { fork } from "node:child_process";
import { once } from "node:events";
const [wt, mode, sizeText, countText] = process.argv.slice(2);
const size = Number(sizeText), count = Number(countText);
const rt = await import(`${wt}/packages/runtime/dist/index.js`);
const tcpMod = await import(`${wt}/packages/transport-tcp/dist/index.js`);
const sink = fork(new URL("./countsink.mjs", import.meta.url), [String(count)]);
const [sinkPort] = await once(sink, "message");
const n = await rt.node({ name: "middle" });
const tcp = await tcpMod.createTcpTransport(n);
const toSink = await tcp.connect(`127.0.0.1:${sinkPort}`);
if (mode === "builtin") await rt.startRelay(n, "forward", rt.route(toSink));
else {
  const { Relay } = await import(`${wt}/examples/dist/hello/relay.js`);
  await n.startWorker("forward", Relay, { args: [rt.route(toSink), { quiet: true }] });
}
const listener = await tcp.listen("127.0.0.1:0");
n.flowControls.addConsumer("forward", listener.flowControlId);
const port = Number(listener.address.split(":").pop());
const sinkDone = once(sink, "message");
const cpu0 = process.cpuUsage(); const t0 = performance.now();
const flooder = fork(new URL("./flooder.mjs", import.meta.url), [wt, String(port), String(count), String(size)]);
await sinkDone;
const cpu = process.cpuUsage(cpu0); const t = performance.now() - t0;
console.log(JSON.stringify({ wt: wt.split("/").pop(), mode, size, cpuUsPerMsg: +((cpu.user + cpu.system) / count).toFixed(2), msgPerS: Math.round(count / t * 1000), rssMiB: Math.round(process.memoryUsage().rss / 2 ** 20) }));
flooder.disconnect(); sink.disconnect(); await n.stop(); process.exit(0);
