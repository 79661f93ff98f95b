import { afterEach, describe, expect, it } from "vitest";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { killAll, startChild, type Child } from "../../test/support/children.js";

const dist = (file: string): string => fileURLToPath(new URL(`../dist/${file}`, import.meta.url));
const runExample = dist("run-example.js");

/** Runs one example as its own process (real node, real sockets) in its own process group, collecting its stdout lines. */
const run = (name: string, ...args: string[]): Child => startChild(runExample, [name, ...args]);

async function listening(node: Child): Promise<string> {
  return (await node.line(/^Listening on (\S+)$/))[1]!;
}

const exitCode = (node: Child): Promise<number | null> => node.exited;

// Nodes that run forever (responders, middles), and any node of a failed test.
afterEach(() => killAll());

describe("examples over TCP, one process per node", () => {
  it("08-trusted-channel: saved identities, trust both ways: the client gets its echo, a stranger is refused", async () => {
    const { mkdtempSync, copyFileSync, rmSync } = await import("node:fs");
    const { join } = await import("node:path");
    const { tmpdir } = await import("node:os");
    const dir = mkdtempSync(join(tmpdir(), "hopwire-08-"));
    const strangerDir = mkdtempSync(join(tmpdir(), "hopwire-08-stranger-"));
    try {
      expect(await exitCode(run("08-trusted-channel-identities", dir))).toBe(0);
      const server = run("08-trusted-channel-server", dir, "127.0.0.1:0");
      const [, address] = await server.line(/^Listening on (\S+) as I[0-9a-f]{64}$/);
      const client = run("08-trusted-channel-client", dir, address!);
      expect(await exitCode(client)).toBe(0);
      expect(client.lines).toContain("App Received: Hello, trusted server!");
      await server.line(/^Channel from I[0-9a-f]{64}$/);
      // A client whose identity the server was not given: it trusts the server, the server does not trust it.
      expect(await exitCode(run("08-trusted-channel-identities", strangerDir))).toBe(0);
      copyFileSync(join(dir, "server.id"), join(strangerDir, "server.id"));
      const stranger = run("08-trusted-channel-client", strangerDir, address!);
      let stderr = "";
      stranger.process.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
      expect(await exitCode(stranger)).toBe(1);
      expect(stderr).toMatch(/SecureChannelRefusedError \[SECURE_CHANNEL_REFUSED\]/);
      expect(stranger.lines).not.toContain("App Received: Hello, trusted server!");
    } finally {
      rmSync(dir, { recursive: true, force: true });
      rmSync(strangerDir, { recursive: true, force: true });
    }
  });

  // The responder run directly and the initiator through run-example: one pair of processes
  // covers both ways of running an example.
  it("04-routing-over-transport: initiator → responder's echoer; an example run directly (node dist/<name>.js) honours the address it is given", async () => {
    const responder = startChild(dist("04-routing-over-transport-responder.js"), ["127.0.0.1:0"]);
    const address = await listening(responder);
    // Port 0 asks for a free port: the guide's default (4000) would mean the argument was ignored.
    expect(address).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(address).not.toBe("127.0.0.1:4000");
    const initiator = run("04-routing-over-transport-initiator", address);
    expect(await exitCode(initiator)).toBe(0);
    expect(initiator.lines).toContain("App Received: Hello Ockam!");
    await responder.line(/^Address: 0#echoer, Received: "Hello Ockam!"$/);
  });

  // 04-routing-over-transport-two-hops (initiator → middle's relay → responder's echoer, the
  // initiator given localhost) runs node by node, through recording proxies, in
  // test/plaintext-never-on-the-wire.test.ts, which checks each node's output there.
  // 05-secure-channel-over-two-transport-hops (its three nodes, one process each) is what the
  // demo runs: examples.test.ts checks each node's output there.

  it("06-portal-over-secure-channel outlet and inlet: HTTP through the portal, one process per node", async () => {
    const service = createServer((req, res) => res.end(`service saw ${req.url}`));
    await new Promise<void>((resolve) => service.listen(0, "127.0.0.1", resolve));
    try {
      const outlet = run("06-portal-over-secure-channel-outlet", "127.0.0.1:0", `127.0.0.1:${(service.address() as AddressInfo).port}`);
      await outlet.line(/^Outlet 0#outlet forwards to 127\.0\.0\.1:\d+$/);
      const inlet = run("06-portal-over-secure-channel-inlet", await listening(outlet), "127.0.0.1:0");
      const [, address] = await inlet.line(/^Inlet listening on (\S+)/);
      const response = await fetch(`http://${address}/through/the/portal`);
      expect(await response.text()).toBe("service saw /through/the/portal");
    } finally {
      service.close();
    }
  });
});
