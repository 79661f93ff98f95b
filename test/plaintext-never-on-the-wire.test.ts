// Records every byte that crosses both TCP hops of the guide's topology and checks that
// the payload (and the inner route) never appear in clear when a secure channel carries them.
import { afterEach, describe, expect, it } from "vitest";
import { once } from "node:events";
import net from "node:net";
import { fileURLToPath } from "node:url";
import { killAll, startChild, type Child } from "./support/children.js";

const runExample = fileURLToPath(new URL("../examples/dist/run-example.js", import.meta.url));
const servers: net.Server[] = [];

/** A TCP proxy that keeps a copy of every byte, in both directions. */
async function recordingProxy(target: string): Promise<{ address: string; bytes: () => Buffer }> {
  const chunks: Buffer[] = [];
  const [host, port] = splitHostPort(target);
  const server = net.createServer((client) => {
    const upstream = net.connect(port, host);
    client.on("data", (d) => (chunks.push(d), upstream.write(d)));
    upstream.on("data", (d) => (chunks.push(d), client.write(d)));
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
    client.on("error", () => upstream.destroy());
    upstream.on("error", () => client.destroy());
  });
  servers.push(server);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port: bound } = server.address() as net.AddressInfo;
  return { address: `127.0.0.1:${bound}`, bytes: () => Buffer.concat(chunks) };
}

function splitHostPort(address: string): [string, number] {
  const i = address.lastIndexOf(":");
  return [address.slice(0, i), Number(address.slice(i + 1))];
}

/** One example node as a process of its own (its own process group, killed after each test). */
function run(name: string, ...args: string[]): Child & { firstLine: (p: RegExp) => Promise<string> } {
  const child = startChild(runExample, [name, ...args]);
  return Object.assign(child, { firstLine: async (pattern: RegExp) => (await child.line(pattern)).input! });
}

/**
 * Runs responder, middle and initiator of an example family with recording proxies on both
 * hops; the initiator reaches the first proxy by `localhost` (the guide's initiators do).
 */
async function runThroughRecorders(family: string, relay: string, responderName = `${family}-responder`): Promise<{ wire: Buffer; initiatorLines: string[] }> {
  const responder = run(responderName, "127.0.0.1:0");
  const bob = (await responder.firstLine(/^Listening on /)).slice("Listening on ".length);
  const hop2 = await recordingProxy(bob);
  const middle = run(`${family}-middle`, hop2.address, "127.0.0.1:0");
  const middleAddress = (await middle.firstLine(/^Listening on /)).slice("Listening on ".length);
  const hop1 = await recordingProxy(middleAddress);
  const initiator = run(`${family}-initiator`, hop1.address.replace("127.0.0.1", "localhost"));
  expect(await initiator.exited).toBe(0);
  expect(initiator.lines).toContain("App Received: Hello Ockam!");
  await middle.firstLine(new RegExp(`^Address: 0#${relay}, Received`));
  return { wire: Buffer.concat([hop1.bytes(), hop2.bytes()]), initiatorLines: initiator.lines };
}

afterEach(() => {
  killAll();
  for (const server of servers.splice(0)) server.close();
});

describe("what crosses the TCP hops", () => {
  // This is also the test of the example 04-routing-over-transport-two-hops, node by node
  // (examples-over-tcp.test.ts runs the other examples that way): each process's output.
  it("without a channel (04-routing-over-transport-two-hops), the recorder sees the payload and the route in clear (the recorder works)", async () => {
    const { wire } = await runThroughRecorders("04-routing-over-transport-two-hops", "forward_to_responder", "04-routing-over-transport-responder");
    expect(wire.includes("Hello Ockam!")).toBe(true);
    expect(wire.includes("echoer")).toBe(true);
  });

  it("through the secure channel, neither the payload nor the inner route ever appears on either hop", async () => {
    const { wire } = await runThroughRecorders("05-secure-channel-over-two-transport-hops", "forward_to_bob");
    expect(wire.length).toBeGreaterThan(200); // the handshake and the messages did cross
    expect(wire.includes("Hello Ockam!")).toBe(false);
    expect(wire.includes("echoer")).toBe(false);
  });
});
