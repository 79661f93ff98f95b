// A process whose channels run on crypto threads must exit by itself: node.stop()
// terminates the threads, and idle threads are unref'd anyway. Runs the compiled packages
// (dist) in a child process.
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { runToExit, type Finished } from "../../../test/support/children.js";

const packageDir = fileURLToPath(new URL("..", import.meta.url));

function script(stop: boolean): string {
  return `
import { node, route } from "@hopwire/runtime";
import { createIdentity, createSecureChannel, createSecureChannelListener, CryptoThreads, SecureChannelListenerOptions, SecureChannelOptions } from "@hopwire/secure-channel";
const n = await node();
await n.startWorker("echoer", { async handleMessage(ctx, m) { await ctx.send(m.returnRoute, m.body); } }, { placement: "main" });
const listener = await createSecureChannelListener(n, createIdentity(), "bob_listener", new SecureChannelListenerOptions().withCryptoThreads(2));
n.flowControls.addConsumer("echoer", listener.flowControlId);
const channel = await createSecureChannel(n, createIdentity(), route("bob_listener"), new SecureChannelOptions().withCryptoThreads(2));
for (let i = 0; i < 100; i++) {
  const reply = await n.sendAndReceive(route(channel, "echoer"), "ping " + i);
  if (reply !== "ping " + i) throw new Error("bad reply " + reply);
}
const pool = CryptoThreads.of(n);
console.log("threads", pool.threadCount);
${stop ? 'await n.stop(); console.log("after stop", pool.threadCount, channel.isClosed);' : ""}
console.log("done");
// Nothing may hold the process now (a handshake or drain timer, a ref'd thread): if this
// unref'd probe ever fires, the process was still alive 5 s after "done", and it says why.
setTimeout(() => console.log("held by", process.getActiveResourcesInfo().join(",")), 5_000).unref();
`;
}

async function run(source: string): Promise<Finished> {
  const result = await runToExit(["--input-type=module", "-e", source], { cwd: packageDir, timeoutMs: 60_000 });
  if (result.timedOut) throw new Error(`the child did not exit by itself within 60 s\n${result.stdout}\n${result.stderr}`);
  return result;
}

describe("a process using crypto threads", () => {
  it("exits by itself with code 0 after node.stop(), which terminates the threads", { timeout: 90_000 }, async () => {
    const result = await run(script(true));
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("threads 2");
    expect(result.stdout).toContain("after stop 0 true");
    expect(result.stdout).toContain("done");
    expect(result.stdout).not.toContain("held by"); // no timer (handshake, drain) holds it
  });

  it("exits by itself with code 0 even without node.stop(): idle threads are unref'd", { timeout: 90_000 }, async () => {
    const result = await run(script(false));
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("done");
    expect(result.stdout).not.toContain("held by");
  });

  // Node refuses any V8 option (and --v8-pool-size) in a thread's execArgv: the threads
  // Hopwire starts drop what Node refuses instead of failing. The pool first, before any
  // thread could have learned it; then a channel whose two ends run on crypto threads.
  it("starts its pool slots and crypto threads in a process run with a V8 flag (--stack-trace-limit)", { timeout: 90_000 }, async () => {
    const result = await runToExit(
      [
        "--stack-trace-limit=50",
        "--input-type=module",
        "-e",
        `
import { Echoer, node, route } from "@hopwire/runtime";
import { createIdentity, createSecureChannel, createSecureChannelListener, CryptoThreads, SecureChannelListenerOptions, SecureChannelOptions } from "@hopwire/secure-channel";
const n = await node({ pool: { maxThreads: 1 } });
await n.startWorker("echoer", Echoer, { placement: "pool" });
console.log("pool", await n.sendAndReceive("echoer", "hello"));
const listener = await createSecureChannelListener(n, createIdentity(), "bob_listener", new SecureChannelListenerOptions().withCryptoThreads(1));
n.flowControls.addConsumer("echoer", listener.flowControlId);
const channel = await createSecureChannel(n, createIdentity(), route("bob_listener"), new SecureChannelOptions().withCryptoThreads(1));
console.log("channel", await n.sendAndReceive(route(channel, "echoer"), "ping"), CryptoThreads.of(n).threadCount);
await n.stop();
`,
      ],
      { cwd: packageDir, timeoutMs: 60_000 },
    );
    expect(result.stderr).toBe("");
    expect(result.stdout).toBe("pool hello\nchannel ping 1\n");
    expect(result.code).toBe(0);
  });
});
