import { afterEach, describe, expect, it, vi } from "vitest";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { once } from "node:events";
import { connect as connectNet, createServer as createNetServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { killAll, startChild, type Child } from "./support/children.js";
import { runCli } from "../packages/cli/dist/index.js";

// The `hopwire` command as real child processes (the compiled bin, each in its own process
// group, killed after every test whatever happened), with identities in a temporary home.
// The published bin (the bundle), as `npx hopwire` runs it.
const bin = fileURLToPath(new URL("../packages/cli/dist/bundle/bin.js", import.meta.url));
const homes: string[] = [];
let servers: Server[] = [];

afterEach(async () => {
  killAll();
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  servers = [];
  for (const home of homes.splice(0)) rmSync(home, { recursive: true, force: true });
});

function newHome(): string {
  const home = mkdtempSync(join(tmpdir(), "hopwire-cli-"));
  homes.push(home);
  return home;
}

/** `hopwire --home <home> ...args`, with its stderr collected. */
function hopwire(home: string, ...args: string[]): Child & { stderr: () => string } {
  const child = startChild(bin, ["--home", home, ...args]);
  let stderr = "";
  child.process.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  return Object.assign(child, { stderr: () => stderr });
}

/**
 * `hopwire --home <home> ...args` run in this process (runCli, what the bin calls): for the
 * steps whose own process proves nothing more. Each CLI process costs ~0.12-0.15 s of CPU to start (measured in session 17).
 */
async function hopwireHere(home: string, ...args: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli([process.execPath, bin, "--home", home, ...args], { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out, err };
}

/** `hopwire identity create <name>` in this process (the identity test runs the command as a process). */
async function createIdentity(home: string, name: string): Promise<string> {
  const { code, out, err } = await hopwireHere(home, "identity", "create", name);
  expect(code, err.join("\n")).toBe(0);
  expect(out).toHaveLength(1);
  expect(out[0]).toMatch(/^I[0-9a-f]{64}$/);
  return out[0]!;
}

/** The same, as a process of its own: the command as a user runs it. */
async function createIdentityProcess(home: string, name: string): Promise<string> {
  const child = hopwire(home, "identity", "create", name);
  const id = (await child.line(/^(I[0-9a-f]{64})$/))[1]!;
  expect(await child.exited).toBe(0);
  return id;
}

/** Resolves with the port of the first `<what> 127.0.0.1:<port>` lifecycle line. */
async function portOf(child: Child, what: string): Promise<number> {
  return Number((await child.line(new RegExp(` ${what} 127\\.0\\.0\\.1:(\\d+)`)))[1]);
}

/** A real HTTP server on 127.0.0.1:0 answering every request with `body`. */
async function httpServer(body: Buffer): Promise<number> {
  const server = createServer((_req, res) => res.end(body));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as { port: number }).port;
}

const sha256 = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex");

/** SIGTERM, then the child logs "stopped" and exits 0. */
async function terminate(child: Child): Promise<void> {
  child.process.kill("SIGTERM");
  expect(await child.exited).toBe(0);
  expect(child.lines.some((l) => / stopped$/.test(l))).toBe(true);
}

describe("hopwire identity", { timeout: 60_000 }, () => {
  // Each command once as a process (the bin's output and exit codes); the second create and
  // the refused one through runCli in this process, ~0.5 s of CPU less each.
  it("creates, shows and lists identities under --home", async () => {
    const home = newHome();
    const bob = await createIdentityProcess(home, "bob");
    const alice = await createIdentity(home, "alice");
    const show = hopwire(home, "identity", "show", "bob");
    expect((await show.line(/^I.*$/))[0]).toBe(bob);
    expect(await show.exited).toBe(0);
    const list = hopwire(home, "identity", "list");
    expect(await list.exited).toBe(0);
    expect(list.lines).toEqual([`alice ${alice}`, `bob ${bob}`]);
    const again = await hopwireHere(home, "identity", "create", "bob");
    expect(again.code).toBe(2);
    expect(again.out).toEqual([]);
    expect(again.err.join("\n")).toMatch(/exists already/);
  });
});

describe("hopwire relay / outlet / inlet: the three-command scenario", { timeout: 120_000 }, () => {
  it("carries HTTP from an inlet, through a relay, to an outlet on a node that only connects out; SIGTERM stops each cleanly", async () => {
    const home = newHome();
    const bob = await createIdentity(home, "bob");
    const alice = await createIdentity(home, "alice");
    const body = randomBytes(1024 * 1024 + 7);
    const http = await httpServer(body);

    vi.stubEnv("HOPWIRE_WARNINGS", "on"); // the suite turns them off; the child inherits the environment
    const relay = hopwire(home, "relay", "--listen", "127.0.0.1:0", "--allow", `bob=${bob}`);
    vi.unstubAllEnvs();
    const relayPort = await portOf(relay, "tcp listener");
    await relay.line(/ ready$/);
    const outlet = hopwire(home, "outlet", "--to", `127.0.0.1:${http}`, "--relay", `bob@127.0.0.1:${relayPort}`, "--identity", "bob", "--trust", alice);
    await outlet.line(/ ready$/);
    expect(outlet.lines.join("\n")).not.toMatch(/tcp listener/); // behind "NAT": it listens on nothing
    const inlet = hopwire(home, "inlet", "--from", "127.0.0.1:0", "--via", `bob@127.0.0.1:${relayPort}`, "--identity", "alice", "--trust", bob);
    const inletPort = await portOf(inlet, "inlet");
    await inlet.line(/ ready$/);

    const responses = await Promise.all(
      [0, 1, 2].map(async () => new Uint8Array(await (await fetch(`http://127.0.0.1:${inletPort}/`)).arrayBuffer())),
    );
    for (const r of responses) expect(sha256(r)).toBe(sha256(body));
    expect(relay.lines.some((l) => l.includes(`relay service: bob registered by ${bob}`))).toBe(true);

    await terminate(inlet);
    // Time for the relay node to see the inlet's connection close (it logs nothing for that).
    await new Promise((resolve) => setTimeout(resolve, 300));
    await terminate(outlet);
    // The outlet's node sent its channels' CLOSEs, the registration's last: once the relay node
    // has that one, it has routed the others (a drop while it stops would not warn).
    await relay.line(/ relay service: bob removed \(its secure channel closed: SECURE_CHANNEL_CLOSED_BY_PEER\)$/);
    // A clean stop of each, with no transfer in progress, is nothing to warn about. The inlet's
    // node stopped its connection under its channel, which so closed without a word; the
    // outlet's end stayed open, and its CLOSE at the outlet's stop was for the inlet's
    // connection, which the relay node had closed: "dropped a message for a connection or
    // secure channel that had just closed". Nor is the outlet's own stop a disconnection from its relay.
    expect(outlet.lines.filter((l) => l.includes("relay bob disconnected"))).toEqual([]);
    await terminate(relay);
    const stderr = relay.process.stderr;
    if (!stderr.closed) await once(stderr, "close"); // all of it read
    expect(relay.stderr()).toBe("");
  });

  it("without a relay: an outlet that listens and an inlet that connects to it straight", async () => {
    const home = newHome();
    const body = randomBytes(64 * 1024);
    const http = await httpServer(body);
    const outlet = hopwire(home, "outlet", "--trust-anyone", "--to", `127.0.0.1:${http}`, "--listen", "127.0.0.1:0");
    const outletPort = await portOf(outlet, "tcp listener");
    await outlet.line(/ ready$/);
    const inlet = hopwire(home, "inlet", "--trust-anyone", "--from", "127.0.0.1:0", "--via", `127.0.0.1:${outletPort}`);
    const inletPort = await portOf(inlet, "inlet");
    expect(sha256(new Uint8Array(await (await fetch(`http://127.0.0.1:${inletPort}/`)).arrayBuffer()))).toBe(sha256(body));
    await terminate(inlet);
    await terminate(outlet);
  });

  it("an inlet's --target reaches a further target the outlet allows (--allow-target), and nothing else", async () => {
    const home = newHome();
    const own = await httpServer(Buffer.from("the outlet's own target"));
    const other = await httpServer(Buffer.from("the allowed other target"));
    const outlet = hopwire(home, "outlet", "--trust-anyone", "--to", `127.0.0.1:${own}`, "--allow-target", `127.0.0.1:${other}`, "--listen", "127.0.0.1:0");
    const outletPort = await portOf(outlet, "tcp listener");
    await outlet.line(/ ready$/);
    const inlet = hopwire(home, "inlet", "--trust-anyone", "--from", "127.0.0.1:0", "--via", `127.0.0.1:${outletPort}`, "--target", `127.0.0.1:${other}`);
    const inletPort = await portOf(inlet, "inlet");
    expect(inlet.lines.some((l) => l.includes(`(target 127.0.0.1:${other})`))).toBe(true);
    const get = (port: number) => fetch(`http://127.0.0.1:${port}/`, { headers: { connection: "close" } }).then((r) => r.text());
    expect(await get(inletPort)).toBe("the allowed other target");
    // A target the outlet does not allow: that client's connection is reset, the inlet says why.
    const refused = hopwire(home, "inlet", "--trust-anyone", "--from", "127.0.0.1:0", "--via", `127.0.0.1:${outletPort}`, "--target", "127.0.0.1:1");
    const refusedPort = await portOf(refused, "inlet");
    await expect(get(refusedPort)).rejects.toThrow();
    await refused.line(/PORTAL_TARGET_NOT_ALLOWED/);
    await terminate(refused);
    await terminate(inlet);
    await terminate(outlet);
  });

  it("a relay node refuses to register a name for an identity it does not allow for it", async () => {
    const home = newHome();
    const bob = await createIdentity(home, "bob");
    const mallory = await createIdentity(home, "mallory");
    const relay = hopwire(home, "relay", "--listen", "127.0.0.1:0", "--allow", `bob=${bob}`);
    const relayPort = await portOf(relay, "tcp listener");
    const outlet = hopwire(home, "outlet", "--trust-anyone", "--to", "127.0.0.1:9", "--relay", `bob@127.0.0.1:${relayPort}`, "--identity", "mallory");
    expect(await outlet.exited).toBe(1);
    expect(outlet.stderr()).toMatch(/RELAY_REGISTRATION_REFUSED/);
    await relay.line(new RegExp(`relay service: refused bob for ${mallory} \\(RELAY_REGISTRATION_REFUSED\\)`));
  });

  it("an outlet whose --relay-trust pins another identity than the relay node's exits 1 at once (retrying would not change it)", async () => {
    const home = newHome();
    await createIdentity(home, "bob");
    const other = await createIdentity(home, "other");
    const relay = hopwire(home, "relay", "--listen", "127.0.0.1:0", "--allow-anyone");
    const relayPort = await portOf(relay, "tcp listener");
    const outlet = hopwire(home, "outlet", "--trust-anyone", "--to", "127.0.0.1:9", "--relay", `bob@127.0.0.1:${relayPort}`, "--identity", "bob", "--relay-trust", other);
    expect(await outlet.exited).toBe(1);
    expect(outlet.stderr()).toMatch(new RegExp(`an identity this node does not trust \\(--relay-trust, relays\\[\\]\\.trust, which expects ${other}\\)`));
    expect(outlet.lines.some((l) => /reconnecting/.test(l))).toBe(false);
  });

  it("an inlet or an outlet's relay pointed at something that is no Hopwire node fails at once, saying so, not after the handshake timeout", async () => {
    const home = newHome();
    // A server that greets like SSH (it writes first, as a Hopwire node does).
    const sockets = new Set<Socket>();
    const ssh = createNetServer((socket) => {
      sockets.add(socket);
      socket.on("error", () => {}).end("SSH-2.0-OpenSSH_9.6\r\n");
    });
    await new Promise<void>((resolve) => ssh.listen(0, "127.0.0.1", resolve));
    try {
      const port = (ssh.address() as { port: number }).port;
      const inlet = hopwire(home, "inlet", "--trust-anyone", "--from", "127.0.0.1:0", "--via", `127.0.0.1:${port}`);
      expect(await inlet.exited).toBe(1);
      // connect() itself fails: the peer's first byte is not a Hopwire version.
      expect(inlet.stderr()).toMatch(/Could not connect to 127\.0\.0\.1:\d+: The peer announced protocol version 83; .*\(the byte "S": is the peer a Hopwire node\?\)/);
      // An outlet's --relay there too: it retried for ever, as if the relay node were only down.
      const outlet = hopwire(home, "outlet", "--trust-anyone", "--to", "127.0.0.1:9", "--relay", `bob@127.0.0.1:${port}`);
      expect(await outlet.exited).toBe(1);
      expect(outlet.stderr()).toMatch(/is the peer a Hopwire node\?/);
      expect(outlet.lines.some((l) => /reconnecting/.test(l))).toBe(false);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => ssh.close(resolve));
    }
  });

  it("an inlet through a relay name that no outlet registered says so when its handshake goes unanswered, and waits for it", async () => {
    const home = newHome();
    const relay = hopwire(home, "relay", "--listen", "127.0.0.1:0", "--allow-anyone");
    const relayPort = await portOf(relay, "tcp listener");
    await relay.line(/ ready$/);
    const inlet = hopwire(home, "inlet", "--trust-anyone", "--from", "127.0.0.1:0", "--via", `bob@127.0.0.1:${relayPort}`);
    // The first handshake's 2 s timeout is the wait measured here; until session 56 the inlet exited 1 after 10 s.
    // It names the port it will listen on (until session 57: "inlet 127.0.0.1:0", its --from).
    const retryPort = await inlet.line(
      new RegExp(
        `inlet 127\\.0\\.0\\.1:([1-9]\\d*): could not open its secure channel \\(no answer .* within 2 s: is an outlet registered as "bob" at 127\\.0\\.0\\.1:${relayPort} \\(hopwire outlet --relay bob@.*\\); retrying in \\d+ ms$`,
      ),
    );
    const http = await httpServer(Buffer.from("registered late"));
    hopwire(home, "outlet", "--trust-anyone", "--to", `127.0.0.1:${http}`, "--relay", `bob@127.0.0.1:${relayPort}`);
    const inletPort = Number((await inlet.line(/ inlet 127\.0\.0\.1:(\d+) -> /))[1]);
    expect(inletPort).toBe(Number(retryPort[1]));
    expect(await (await fetch(`http://127.0.0.1:${inletPort}/`)).text()).toBe("registered late");
    expect(inlet.stderr()).toBe("");
  });

  it("when the relay node restarts, the outlet node registers again and the inlet opens its channel again: traffic flows", async () => {
    const home = newHome();
    const bob = await createIdentity(home, "bob");
    const body = Buffer.from("hello through the relay again");
    const http = await httpServer(body);
    const first = hopwire(home, "relay", "--listen", "127.0.0.1:0", "--allow", `bob=${bob}`);
    const relayPort = await portOf(first, "tcp listener");
    const outlet = hopwire(home, "outlet", "--trust-anyone", "--to", `127.0.0.1:${http}`, "--relay", `bob@127.0.0.1:${relayPort}`, "--identity", "bob");
    await outlet.line(/ ready$/);
    const inlet = hopwire(home, "inlet", "--trust-anyone", "--from", "127.0.0.1:0", "--via", `bob@127.0.0.1:${relayPort}`);
    const inletPort = await portOf(inlet, "inlet");
    expect(Buffer.from(await (await fetch(`http://127.0.0.1:${inletPort}/`)).arrayBuffer())).toEqual(body);

    first.process.kill("SIGKILL"); // the relay node dies without a word
    await first.exited;
    await outlet.line(/relay bob (disconnected|reconnecting)/);
    await inlet.line(/lost its secure channel/);
    const second = hopwire(home, "relay", "--listen", `127.0.0.1:${relayPort}`, "--allow", `bob=${bob}`);
    await outlet.line(/relay bob registered again at /);
    await second.line(/relay service: bob registered by /);
    await inlet.line(new RegExp(`inlet 127\\.0\\.0\\.1:${inletPort} -> .*opened again`));
    const again = await fetch(`http://127.0.0.1:${inletPort}/`, { headers: { connection: "close" } });
    expect(Buffer.from(await again.arrayBuffer())).toEqual(body);
    await terminate(inlet);
    await terminate(outlet);
    await terminate(second);
  });

  // It kept running, unregistered for good and looking alive to its supervisor.
  it("a relay node that comes back with another identity than --relay-trust pins: the outlet's node stops with exit 1, saying why", async () => {
    const home = newHome();
    const bob = await createIdentity(home, "bob");
    const relayId = await createIdentity(home, "relay");
    const first = hopwire(home, "relay", "--listen", "127.0.0.1:0", "--allow", `bob=${bob}`, "--identity", "relay");
    const relayPort = await portOf(first, "tcp listener");
    const outlet = hopwire(home, "outlet", "--trust-anyone", "--to", "127.0.0.1:9", "--relay", `bob@127.0.0.1:${relayPort}`, "--relay-trust", relayId, "--identity", "bob");
    await outlet.line(/ ready$/);
    first.process.kill("SIGKILL");
    await first.exited;
    await outlet.line(/relay bob (disconnected|reconnecting)/);
    const impostor = hopwire(home, "relay", "--listen", `127.0.0.1:${relayPort}`, "--allow", `bob=${bob}`); // a fresh identity
    expect(await outlet.exited).toBe(1);
    // On stderr, where a supervisor that keeps only that stream looks (a user trial found it on stdout only).
    expect(outlet.stderr()).toMatch(
      new RegExp(`hopwire: relay bob refused by 127\\.0\\.0\\.1:${relayPort}: .*not trusted.*: a refusal is final, so this node stops \\(exit 1\\) for its supervisor to restart it once the relay node is fixed`),
    );
    expect(outlet.lines.at(-2)).toMatch(/ stopping \(failure\)$/);
    expect(outlet.lines.at(-1)).toMatch(/ stopped$/);
    await terminate(impostor);
  });

  it("while its outlet is gone, the inlet's reopening attempts say what to check in the command's terms", async () => {
    const home = newHome();
    const bob = await createIdentity(home, "bob");
    const relay = hopwire(home, "relay", "--listen", "127.0.0.1:0", "--allow", `bob=${bob}`);
    const relayPort = await portOf(relay, "tcp listener");
    const outlet = hopwire(home, "outlet", "--trust-anyone", "--to", "127.0.0.1:9", "--relay", `bob@127.0.0.1:${relayPort}`, "--identity", "bob");
    await outlet.line(/ ready$/);
    const inlet = hopwire(home, "inlet", "--trust-anyone", "--from", "127.0.0.1:0", "--via", `bob@127.0.0.1:${relayPort}`);
    const inletPort = await portOf(inlet, "inlet");
    await inlet.line(/ ready$/);
    process.kill(-outlet.process.pid!, "SIGKILL");
    await inlet.line(/lost its secure channel/);
    // Before, the runtime's words: internal addresses and flow controls.
    await inlet.line(
      new RegExp(
        `^\\S+ inlet 127\\.0\\.0\\.1:${inletPort}: could not open its secure channel again \\(no answer to the secure channel handshake through 127\\.0\\.0\\.1:${relayPort} ` +
          `\\(forward_to_bob -> api\\) within 2 s: is an outlet registered as "bob" at 127\\.0\\.0\\.1:${relayPort} \\(hopwire outlet --relay bob@127\\.0\\.0\\.1:${relayPort}\\)\\? .*\\); retrying$`,
      ),
    );
    await terminate(inlet);
    await terminate(relay);
  });

  it("kill -9 of the outlet's node: the relay node closes the inlet's connection at once, so the inlet refuses clients at once and opens its channel again when the outlet is back", async () => {
    const home = newHome();
    const bob = await createIdentity(home, "bob");
    const body = Buffer.from("hello from the outlet's second life");
    const http = await httpServer(body);
    const relay = hopwire(home, "relay", "--listen", "127.0.0.1:0", "--allow", `bob=${bob}`);
    const relayPort = await portOf(relay, "tcp listener");
    const outletArgs = ["outlet", "--trust-anyone", "--to", `127.0.0.1:${http}`, "--relay", `bob@127.0.0.1:${relayPort}`, "--identity", "bob"];
    const first = hopwire(home, ...outletArgs);
    await first.line(/ ready$/);
    const inlet = hopwire(home, "inlet", "--trust-anyone", "--from", "127.0.0.1:0", "--via", `bob@127.0.0.1:${relayPort}`);
    const inletPort = await portOf(inlet, "inlet");
    await inlet.line(/ ready$/);
    expect(Buffer.from(await (await fetch(`http://127.0.0.1:${inletPort}/`, { headers: { connection: "close" } })).arrayBuffer())).toEqual(body);

    const lost = inlet.nextLine(/lost its secure channel/);
    const killedAt = Date.now();
    process.kill(-first.process.pid!, "SIGKILL"); // the outlet's node dies without a word
    await lost;
    // Without the relay node's word, the inlet's channel would be known dead only after its peer timeout (30 s).
    expect(Date.now() - killedAt).toBeLessThan(5_000);
    // Meanwhile a client is turned away at once, not held for the open timeout (10 s).
    const triedAt = Date.now();
    await expect(fetch(`http://127.0.0.1:${inletPort}/`)).rejects.toThrow();
    expect(Date.now() - triedAt).toBeLessThan(5_000);

    const second = hopwire(home, ...outletArgs);
    await second.line(/ ready$/);
    await inlet.line(new RegExp(`inlet 127\\.0\\.0\\.1:${inletPort} -> .*opened again`));
    const again = await fetch(`http://127.0.0.1:${inletPort}/`, { headers: { connection: "close" } });
    expect(Buffer.from(await again.arrayBuffer())).toEqual(body);
    await terminate(inlet);
    await terminate(second);
    await terminate(relay);
  });

  it("an outlet node started before its relay node waits for it (SIGTERM still stops it), then registers", async () => {
    const home = newHome();
    const bob = await createIdentity(home, "bob");
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    const relayPort = (probe.address() as { port: number }).port;
    await new Promise((resolve) => probe.close(resolve)); // a port with nothing on it, for now
    const impatient = hopwire(home, "outlet", "--trust-anyone", "--to", "127.0.0.1:9", "--relay", `bob@127.0.0.1:${relayPort}`, "--identity", "bob");
    await impatient.line(/relay bob reconnecting to /);
    impatient.process.kill("SIGTERM"); // still waiting: it leaves at once, cleanly
    expect(await impatient.exited).toBe(0);
    expect(impatient.lines.at(-1)).toMatch(/ stopped$/);
    const outlet = hopwire(home, "outlet", "--trust-anyone", "--to", "127.0.0.1:9", "--relay", `bob@127.0.0.1:${relayPort}`, "--identity", "bob");
    await outlet.line(/relay bob reconnecting to /);
    const relay = hopwire(home, "relay", "--listen", `127.0.0.1:${relayPort}`, "--allow", `bob=${bob}`);
    await outlet.line(/relay bob registered at /);
    await outlet.line(/ ready$/);
    await relay.line(/relay service: bob registered by /);
    await terminate(outlet);
    await terminate(relay);
  });
});

describe("hopwire node: configuration errors", { timeout: 60_000 }, () => {
  const cases: [string, string, string, RegExp][] = [
    ["missing key", "missing.yaml", "secureChannelListeners:\n  - trust: everyone\n", /^hopwire: \S+missing\.yaml: secureChannelListeners\[0\]\.address: missing key, expected a name string$/],
    ["wrong type", "wrong-type.yaml", "tcpListeners:\n  - address: 4000\n", /^hopwire: \S+wrong-type\.yaml: tcpListeners\[0\]\.address: expected a "host:port" string, got number$/],
    ["unknown key", "unknown.yaml", "tcpListeners:\n  - address: 127.0.0.1:0\n    adress: 127.0.0.1:1\n", /^hopwire: \S+unknown\.yaml: tcpListeners\[0\]\.adress: unknown key, expected one of: address, maxConnections, maxConnectionsPerHost, idleTimeout$/],
    ["unknown top-level key (JSON)", "top.json", '{ "listeners": [] }', /^hopwire: \S+top\.json: listeners: unknown key, expected one of: identity, connections, tcpListeners, /],
    ["unreadable identity file", "identity-file.yaml", "identity:\n  file: /nonexistent/bob.json\n", /^hopwire: \S+identity-file\.yaml: identity\.file: cannot read the identity file "\/nonexistent\/bob\.json" \(ENOENT\)$/],
    ["unknown identity name", "identity-name.yaml", "identity: carol\n", /^hopwire: \S+identity-name\.yaml: identity: No identity called "carol"/],
    ["a reference to no connection", "via.yaml", "inlets:\n  - listen: 127.0.0.1:0\n    via: relay\n    trust: everyone\n", /^hopwire: \S+via\.yaml: inlets\[0\]\.via: expected a name from "connections" or "host:port", got "relay"$/],
    ["not YAML at all", "broken.yaml", "tcpListeners: [\n", /^hopwire: \S+broken\.yaml: not valid YAML: /],
  ];
  // The first case as a process (the bin's exit code and stderr); the others through runCli
  // in this process, the same code with the same one line and exit code, ~0.12-0.15 s of CPU less each.
  for (const [i, [what, file, text, expected]] of cases.entries()) {
    it(`${what}: one line on stderr naming file, key and expectation; exit code 2${i === 0 ? " (as a process)" : ""}`, async () => {
      const home = newHome();
      const path = join(home, file);
      writeFileSync(path, text);
      if (i === 0) {
        const child = hopwire(home, "node", path);
        expect(await child.exited).toBe(2);
        const lines = child.stderr().trimEnd().split("\n");
        expect(lines).toHaveLength(1);
        expect(lines[0]).toMatch(expected);
        expect(child.lines).toEqual([]); // nothing started
        return;
      }
      const { code, out, err } = await hopwireHere(home, "node", path);
      expect(code).toBe(2);
      const lines = err.join("\n").trimEnd().split("\n");
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(expected);
      expect(out).toEqual([]); // nothing started
    });
  }

  it("a configured TCP listener applies its limits: a second connection from one host is refused, and the node warns naming the setting", async () => {
    const home = newHome();
    const path = join(home, "limits.yaml");
    writeFileSync(path, "tcpListeners:\n  - address: 127.0.0.1:0\n    maxConnectionsPerHost: 1\n    idleTimeout: 600000\n");
    vi.stubEnv("HOPWIRE_WARNINGS", "on"); // the suite turns them off; the child inherits the environment
    const child = hopwire(home, "node", path);
    vi.unstubAllEnvs();
    const port = await portOf(child, "tcp listener");
    await child.line(/ ready$/);
    const sockets: Socket[] = [];
    const open = async (): Promise<Socket> => {
      const socket = connectNet({ host: "127.0.0.1", port });
      sockets.push(socket);
      socket.on("error", () => {});
      await once(socket, "connect");
      return socket;
    };
    try {
      const first = await open();
      first.write(Buffer.of(2, 0, 0, 0, 0)); // a Hopwire peer's version byte and keepalive
      await once(first, "data"); // the node's own: accepted
      const second = await open();
      await once(second, "close"); // closed at once: one connection per host
      expect(first.destroyed).toBe(false);
      const deadline = Date.now() + 20_000;
      while (!/maxConnectionsPerHost/.test(child.stderr()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(child.stderr()).toMatch(/refused a TCP connection .*: it holds its maximum of 1 connection from that host \(maxConnectionsPerHost\)/);
    } finally {
      for (const socket of sockets) socket.destroy();
    }
    child.process.kill("SIGINT");
    expect(await child.exited).toBe(0);
  });

  it("a good configuration file runs a node (YAML), and SIGINT stops it cleanly", async () => {
    const home = newHome();
    await createIdentity(home, "bob");
    const path = join(home, "relay.yaml");
    writeFileSync(path, "identity: bob\ntcpListeners:\n  - address: 127.0.0.1:0\nsecureChannelListeners:\n  - address: api\n    trust: everyone\nrelayService:\n  allow: everyone\n");
    const child = hopwire(home, "node", path);
    await child.line(/ relay service forwarding_service \(any name, any identity\)$/);
    await child.line(/ ready$/);
    child.process.kill("SIGINT");
    expect(await child.exited).toBe(0);
    expect(child.lines.at(-1)).toMatch(/ stopped$/);
  });
});
