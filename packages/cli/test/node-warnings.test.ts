import { afterEach, describe, expect, it, vi } from "vitest";
import { Address, UnknownAddressError, WARNING_INTERVAL_MS, node, route, startRelay, type Node } from "@hopwire/runtime";
import { createTcpTransport } from "@hopwire/transport-tcp";
import { parseConfig, startNodeFromConfig, type RunningNode } from "../dist/index.js";
import { newHome, removeHomes } from "./processes.js";

// A node started from a configuration writes the runtime's warnings through `warn`: a message
// to an address nobody has in the configuration's terms, chosen by the warning's fields (not by
// matching the runtime's sentence), every other warning as the runtime words it.

const running: RunningNode[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((r) => r.stop()));
  vi.useRealTimers();
  vi.unstubAllEnvs();
  removeHomes();
});

/** A node with an outlet, a secure channel listener and a relay service; its warnings in `lines`. */
async function startNode(lines: string[]): Promise<Node> {
  vi.stubEnv("HOPWIRE_WARNINGS", "on"); // the suite turns them off
  const config = parseConfig(
    { tcpListeners: [{ address: "127.0.0.1:0" }], secureChannelListeners: [{ address: "api", trust: "everyone" }], relayService: { allow: "everyone" }, outlets: [{ to: "127.0.0.1:5432" }] },
    "test",
  );
  const r = await startNodeFromConfig(config, { home: newHome(), source: "test", log: () => {}, warn: (line) => lines.push(line) });
  running.push(r);
  return r.node;
}

/** A relay `name` on `n` that forwards to `to`, where nothing is: each message it forwards is dropped, with a warning. */
async function relayTo(n: Node, name: string, to: string | Address): Promise<void> {
  await startRelay(n, name, route(to));
}

/** Sends one message through relay `name`; the relay's drop reaches the sender as an error too. */
async function drop(n: Node, name: string): Promise<void> {
  await expect(n.send(name, "payload")).rejects.toBeInstanceOf(UnknownAddressError);
}

describe("a configured node's warnings", () => {
  it("an unknown address: what the node has under which names, and which setting of the sender names it", async () => {
    const lines: string[] = [];
    const n = await startNode(lines);
    await relayTo(n, "to_nope", "nope");
    await relayTo(n, "to_forward_to_bob", "forward_to_bob");
    await drop(n, "to_nope");
    await drop(n, "to_forward_to_bob");
    expect(lines).toEqual([
      'warning: dropped a message from to_nope for "nope": nothing on this node is called "nope" ' +
        "(outlets: outlet; secure channel listeners: api; relay service: forwarding_service): " +
        "the sender names the wrong outlet (--outlet, inlets[].outlet) or listener (inlets[].listener). The sender is not told; it sees a timeout.",
      'warning: dropped a message from to_forward_to_bob for "forward_to_bob": no relay is registered as "bob" on this node: ' +
        "the node that should register it is not connected, or the sender (--via bob@…, inlets[].relay) names the wrong relay. " +
        "The sender is not told; it sees a timeout.",
    ]);
  });

  it("a message for a connection that closed on its way: the reason and that it is expected, not two generated addresses", async () => {
    const lines: string[] = [];
    const n = await startNode(lines);
    // A connection's address (generated) that went away with its reason, as a closed peer's does.
    const gone = Address.random();
    n.router.register([gone], { address: gone, deliver: () => {} });
    n.router.unregister([gone], new Error("The peer 127.0.0.1:50326 closed the connection"));
    await relayTo(n, "to_gone", gone);
    await drop(n, "to_gone");
    expect(lines).toEqual([
      "warning: dropped a message for a connection or secure channel that had just closed (The peer 127.0.0.1:50326 closed the connection): " +
        "it was on its way when that happened, as when a client disconnects mid-transfer; nothing to fix unless it keeps happening.",
    ]);
  });

  it("keeps the runtime's count of what it held back after the configuration's advice", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const lines: string[] = [];
    const n = await startNode(lines);
    await relayTo(n, "to_nope", "nope");
    for (let i = 0; i < 3; i++) await drop(n, "to_nope");
    vi.advanceTimersByTime(WARNING_INTERVAL_MS);
    await drop(n, "to_nope");
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(/^warning: dropped a message from to_nope for "nope": nothing on this node is called "nope" \(.*\. The sender is not told; it sees a timeout\. \(2 more like this in the last 60 s\)$/);
  });

  it("a denial: what a configuration controls (which peer reaches what), not the runtime's addConsumer advice", async () => {
    vi.stubEnv("HOPWIRE_WARNINGS", "on");
    const lines: string[] = [];
    const logged: string[] = [];
    const config = parseConfig({ tcpListeners: [{ address: "127.0.0.1:0" }], secureChannelListeners: [{ address: "api", trust: "everyone" }], outlets: [{ to: "127.0.0.1:5432" }] }, "test");
    const r = await startNodeFromConfig(config, { home: newHome(), source: "test", log: (line) => logged.push(line), warn: (line) => lines.push(line) });
    running.push(r);
    const listening = logged.find((line) => line.startsWith("tcp listener "))!.slice("tcp listener ".length).replace(/^1#/, "");
    // A peer that goes around the secure channel: straight over TCP to the outlet.
    const peer = await node({ name: "around", warnings: false });
    try {
      const connection = await (await createTcpTransport(peer)).connect(listening);
      await peer.send(route(connection, "outlet"), "x");
      await vi.waitFor(() => expect(lines).toHaveLength(1));
    } finally {
      await peer.stop();
    }
    expect(lines[0]).toMatch(/^warning: refused a message from the network for "outlet": this configuration does not let it reach "outlet" from where it came \(/);
    // Where it came from in an operator's terms: the connection's peer, beside its generated address.
    expect(lines[0]).toMatch(/from where it came \([0-9a-f]{32}, the connection with 127\.0\.0\.1:\d+\)\. /);
    expect(lines[0]).toContain("without the secure channel the configuration puts in front of it");
    expect(lines[0]).not.toContain("addConsumer");
  });

  it("any other warning as the runtime words it, prefixed warning: (a late reply, a handler that threw)", async () => {
    const lines: string[] = [];
    const n = await startNode(lines);
    const generated = Address.random();
    await relayTo(n, "to_generated", generated);
    await drop(n, "to_generated");
    const thrower = {
      handleMessage: (): void => {
        throw new Error("boom");
      },
    };
    await n.startWorker("thrower", thrower, { placement: "main" });
    await n.send("thrower", "x");
    await vi.waitFor(() => expect(lines).toHaveLength(2));
    expect(lines).toEqual([
      `warning: dropped a message from to_generated for "${generated.key}": no worker has the address "${generated.key}" on this node ` +
        "(a generated address: likely a reply that came after its request timed out or was aborted). " +
        "The sender is not told: a send had resolved already, and a request (sendAndReceive) fails at its timeout.",
      'warning: worker "thrower" threw in handleMessage: Error: boom. The message was dropped: a sendAndReceive on this node that sent it fails with WorkerHandlerError, any other sender gets no reply; the worker keeps running.',
    ]);
  });
});
