import { afterEach, describe, expect, it } from "vitest";
import { createServer, type AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { killAll, startChild } from "../../test/support/children.js";

const dist = (file: string): string => fileURLToPath(new URL(`../dist/${file}`, import.meta.url));

// Each script runs in its own process group (the demo starts three more processes): a test
// that fails or times out ends them all.
afterEach(() => killAll());

/** Runs a compiled example script; workers print from their own threads, so lines are compared as a multiset. */
async function run(script: string, ...args: string[]): Promise<{ code: number | null; lines: string[]; stderr: string }> {
  const child = startChild(dist(script), args);
  let stderr = "";
  child.process.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const code = await child.exited;
  return { code, lines: child.lines.filter((l) => l.length > 0), stderr };
}

const sorted = (lines: string[]): string[] => [...lines].sort();
const received = (address: string): string => `Address: 0#${address}, Received: "Hello Ockam!"`;

describe("examples", () => {
  it("01-node starts and stops a node", async () => {
    const { code, lines, stderr } = await run("run-example.js", "01-node");
    expect(code, stderr).toBe(0);
    expect(lines).toEqual(["Node started, its context has the address 0#app", "Node stopped"]);
  });

  it("02-worker gets a reply from an echoer on its own thread", async () => {
    const { code, lines, stderr } = await run("run-example.js", "02-worker");
    expect(code, stderr).toBe(0);
    expect(sorted(lines)).toEqual(sorted([received("echoer"), "App Received: Hello Ockam!"]));
  });

  it("03-routing routes through a hop and back", async () => {
    const { code, lines, stderr } = await run("run-example.js", "03-routing");
    expect(code, stderr).toBe(0);
    expect(sorted(lines)).toEqual(sorted([received("h1"), received("echoer"), received("h1"), "App Received: Hello Ockam!"]));
  });

  it("03-routing-many-hops routes through three hops and back", async () => {
    const { code, lines, stderr } = await run("run-example.js", "03-routing-many-hops");
    expect(code, stderr).toBe(0);
    const hops = ["h1", "h2", "h3"].flatMap((h) => [received(h), received(h)]);
    expect(sorted(lines)).toEqual(sorted([...hops, received("echoer"), "App Received: Hello Ockam!"]));
    // Each hop prints on the way out before the echoer does (the reply cannot exist before it).
    const echoer = lines.indexOf(received("echoer"));
    for (const h of ["h1", "h2", "h3"]) expect(lines.indexOf(received(h))).toBeLessThan(echoer);
  });

  it("06-portal-over-secure-channel: an HTTP client reaches a service through inlet → secure channel → outlet", async () => {
    const { code, lines, stderr } = await run("run-example.js", "06-portal-over-secure-channel");
    expect(code, stderr).toBe(0);
    expect(lines[0]).toMatch(/^Inlet listening on 127\.0\.0\.1:\d+$/);
    expect(lines[1]).toBe("Client received: Hello from the service behind the outlet, you asked for /hello");
    expect(lines).toHaveLength(2);
  });

  it("09-streaming-over-secure-channel: every chunk of a stream through a secure channel arrives once, in order", async () => {
    const { code, lines, stderr } = await run("run-example.js", "09-streaming-over-secure-channel", "5000", "2048");
    expect(code, stderr).toBe(0);
    expect(lines[0]).toMatch(/^Alice sent 5000 chunks of 2048 bytes \(9\.8 MiB\) in \d+\.\d\d s$/);
    expect(lines[1]).toBe("Bob's counter received 5000 chunks (10240000 bytes), in order");
    expect(lines).toHaveLength(2);
  });

  it("09-streaming-over-secure-channel refuses a bad count with its usage", async () => {
    const { code, lines, stderr } = await run("run-example.js", "09-streaming-over-secure-channel", "0");
    expect(code).toBe(2);
    expect(lines).toEqual([]);
    expect(stderr).toMatch(/^Usage: npm run example -- 09-streaming-over-secure-channel /);
  });

  it("run-example names the examples when given an unknown one", async () => {
    const { code, lines, stderr } = await run("run-example.js", "99-nope");
    expect(code).toBe(1);
    expect(lines).toEqual([]);
    expect(stderr).toContain('Unknown example "99-nope". Examples: 01-node, 02-worker, 03-routing, 03-routing-many-hops');
  });

  it("run-example --list names every example, one per line", async () => {
    const { code, lines, stderr } = await run("run-example.js", "--list");
    expect(code, stderr).toBe(0);
    expect(lines).toEqual(expect.arrayContaining(["01-node", "02-worker", "03-routing", "04-routing-over-transport-responder", "05-secure-channel-over-two-transport-hops-initiator"]));
    expect(lines.every((l) => /^\d\d-[\w-]+$/.test(l))).toBe(true);
  });

  // The demo runs 05-secure-channel-over-two-transport-hops, one process per node: this is
  // that example's test too (examples-over-tcp.test.ts runs the others node by node).
  it("the demo runs the guide's three nodes (05) as processes and shows the message flow", async () => {
    const { code, lines, stderr } = await run("demo.js", "--responder", "127.0.0.1:0", "--middle", "127.0.0.1:0");
    expect(code, stderr).toBe(0);
    expect(lines.filter((l) => l.startsWith("[initiator] "))).toEqual(["[initiator] App Received: Hello Ockam!"]);
    expect(lines).toContain('[responder] Address: 0#echoer, Received: "Hello Ockam!"');
    // The relay saw the handshake's first message (the channel's bytes, not its content).
    expect(lines.some((l) => /^\[middle\] Address: 0#forward_to_bob, Received: \d+ bytes$/.test(l))).toBe(true);
    expect(lines[lines.length - 1]).toMatch(/^Done: /);
  });

  // A port in use (3000 often is) printed Node's 20-line dump of the ListenError, and the way
  // out (free ports) was nowhere.
  it("the demo with a port in use says which, in one line, and how to pick free ports", async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    try {
      const taken = `127.0.0.1:${(blocker.address() as AddressInfo).port}`;
      const { code, lines, stderr } = await run("demo.js", "--responder", "127.0.0.1:0", "--middle", taken);
      expect(code).toBe(1);
      const errors = stderr.split("\n").filter((l) => l.length > 0);
      expect(errors).toEqual([
        `[middle] 05-secure-channel-over-two-transport-hops-middle: ListenError [TCP_LISTEN_FAILED]: Could not listen on ${taken}: listen EADDRINUSE: address already in use ${taken}`,
        "Demo failed: the middle node exited with code 1 (its port is in use: `npm run demo -- --responder 127.0.0.1:0 --middle 127.0.0.1:0` picks free ports)",
      ]);
      expect(lines.some((l) => l.startsWith("[initiator]"))).toBe(false);
    } finally {
      blocker.close();
    }
  });

  it("the demo with a bad address points at the node's own error, not at ports", async () => {
    const { code, stderr } = await run("demo.js", "--responder", "4000", "--middle", "127.0.0.1:0");
    expect(code).toBe(1);
    expect(stderr.split("\n").filter((l) => l.length > 0)).toEqual([
      '[responder] 05-secure-channel-over-two-transport-hops-responder: InvalidAddressError [ADDRESS_INVALID]: listen address "4000" has no host: write "host:port", e.g. "127.0.0.1:4000"',
      "Demo failed: the responder node exited with code 1: its error is above",
    ]);
  });

  it("the demo refuses a flag it does not know, with its usage, and starts nothing", async () => {
    const { code, lines, stderr } = await run("demo.js", "--bogus");
    expect(code).toBe(2);
    expect(stderr).toMatch(/^demo: Unknown option '--bogus'\nusage: npm run demo -- \[--responder HOST:PORT\] \[--middle HOST:PORT\] \[--help\]/);
    expect(lines).toEqual([]);
    const help = await run("demo.js", "--help");
    expect(help.code).toBe(0);
    expect(help.lines[0]).toMatch(/^usage: npm run demo -- /);
  });
});
