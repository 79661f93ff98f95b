import { execFile, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

// Whether an object is still reachable shows only after a collection: each case runs in a
// child process with --expose-gc, which records every channel end that opens (a WeakRef each).
const CHANNEL_END = new URL("../dist/secure-channel/channel-end.js", import.meta.url).href;
/** Bob: a TCP listener and a secure channel listener; `ends`, `turn` and `until` for the checks. */
const PROLOGUE = `
      import { Echoer, node, route } from "@hopwire/runtime";
      import { createTcpTransport } from "@hopwire/transport-tcp";
      import { createIdentity, createSecureChannel, createSecureChannelListener } from "@hopwire/secure-channel";
      import { ChannelEnd } from ${JSON.stringify(CHANNEL_END)};
      const ends = [];
      const open = ChannelEnd.prototype.open;
      ChannelEnd.prototype.open = function (...args) { ends.push(new WeakRef(this)); return open.apply(this, args); };
      const turn = () => new Promise((r) => setImmediate(r));
      const until = async (what, check) => {
        const deadline = Date.now() + 30_000;
        while (!check()) { if (Date.now() > deadline) throw new Error("timed out waiting for " + what); await new Promise((r) => setTimeout(r, 5)); }
      };
      const bob = await node({ name: "bob" });
      const tcp = await createTcpTransport(bob);
      const tcpListener = await tcp.listen("127.0.0.1:0");
      const listener = await createSecureChannelListener(bob, createIdentity(), "bob_listener", { consumerOf: tcpListener.flowControlId });`;

describe("what a closed channel leaves behind", () => {
  it("a channel closed because its TCP connection went away keeps neither its ends nor the connection alive", async () => {
    // A closed channel's reason outlives it (its tombstone answers later sends with it). Until
    // its stack trace is read, V8 keeps it as frames that hold their receivers: the reason made
    // when the connection went away kept the channel end and the connection, with their head
    // caches: ~4 MiB each once a hostile peer had filled them, for up to 1,024 closed channels.
    const script = `
      ${PROLOGUE}
      const alice = await node({ name: "alice" });
      let connection = await (await createTcpTransport(alice)).connect(tcpListener.address);
      // Only its closed promise is kept: the caller lets go of the channel.
      const closed = (await createSecureChannel(alice, createIdentity(), route(connection, "bob_listener"))).closed;
      await until("both ends to open", () => ends.length === 2 && listener.channelCount === 1);
      const accepted = new WeakRef(tcpListener.connections[0]);
      await connection.stop(); // both ends close: their first hop went away
      connection = undefined; // (a connection remembers where its last message went until its next one)
      await closed;
      await until("the responder's end to close", () => listener.channelCount === 0 && tcpListener.connections.length === 0);
      for (let i = 0; i < 5; i++) { await turn(); globalThis.gc(); }
      console.log(JSON.stringify({ endsAlive: ends.filter((e) => e.deref() !== undefined).length, connectionAlive: accepted.deref() !== undefined }));
      await alice.stop();
      await bob.stop();`;
    expect(await lastLineOf(script)).toEqual({ endsAlive: 0, connectionAlive: false });
  });

  it("a channel closed over a connection that stays open and idle: the connection does not keep its ends", async () => {
    // A connection remembers where its last messages went (RouteMemo) until it routes again:
    // a closed end's mailboxes must not hold the end, nor what a peer filled in it.
    const script = `
      ${PROLOGUE}
      bob.flowControls.addConsumer("echoer", listener.flowControlId);
      await bob.startWorker("echoer", Echoer, { placement: "main" });
      const alice = await node({ name: "alice" });
      const connection = await (await createTcpTransport(alice)).connect(tcpListener.address);
      let channel = await createSecureChannel(alice, createIdentity(), route(connection, "bob_listener"));
      for (let i = 0; i < 3; i++) await alice.sendAndReceive(route(channel, "echoer"), "hello " + i);
      await until("both ends to open", () => ends.length === 2 && listener.channelCount === 1);
      await channel.close();
      channel = undefined;
      await until("the responder's end to close", () => listener.channelCount === 0);
      for (let i = 0; i < 5; i++) { await turn(); globalThis.gc(); }
      console.log(JSON.stringify({ endsAlive: ends.filter((e) => e.deref() !== undefined).length, connectionOpen: !connection.isClosed }));
      await alice.stop();
      await bob.stop();`;
    expect(await lastLineOf(script)).toEqual({ endsAlive: 0, connectionOpen: true });
  });
});

/** Runs `script` as an ES module in a child process with --expose-gc; its last stdout line, parsed. */
async function lastLineOf(script: string): Promise<unknown> {
  let child: ChildProcess | undefined;
  try {
    const out = await new Promise<string>((resolve, reject) => {
      child = execFile(
        process.execPath,
        // The tsc files, not the bundles: the script patches ChannelEnd in its dist file.
        ["--expose-gc", "--conditions=hopwire-unbundled", "--input-type=module", "-e", script],
        { encoding: "utf8", cwd: fileURLToPath(new URL(".", import.meta.url)), timeout: 50_000 },
        (error, stdout, stderr) => (error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(stdout)),
      );
    });
    return JSON.parse(out.trim().split("\n").pop()!);
  } finally {
    child?.kill();
  }
}
