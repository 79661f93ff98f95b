import { afterEach, describe, expect, it } from "vitest";
import { AbortError, Echoer, InvalidOptionError, node, route, type Node } from "@hopwire/runtime";
import {
  createIdentity,
  createSecureChannel,
  createSecureChannelListener,
  SecureChannelRefusedError,
  trustIdentifier,
} from "@hopwire/secure-channel";

// Issue 11, item 8: secure channel options as plain objects, beside the builders.

const nodes: Node[] = [];
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.stop()));
});

async function start(): Promise<Node> {
  const n = await node({ warnings: false });
  nodes.push(n);
  return n;
}

describe("secure channel options as plain objects", () => {
  it("a trust policy on both sides, as plain objects", async () => {
    const n = await start();
    const alice = await createIdentity();
    const bob = await createIdentity();
    const scl = await createSecureChannelListener(n, bob, "bob_listener", { trustPolicy: trustIdentifier(String(alice.identifier)) });
    await n.startWorker("echoer", new Echoer(), { placement: "main" });
    n.flowControls.addConsumer("echoer", scl.flowControlId);
    const channel = await createSecureChannel(n, alice, route("bob_listener"), {
      trustPolicy: trustIdentifier(bob.identifier),
      timeout: 20_000,
      rekeyInterval: 100,
    });
    expect(await n.sendAndReceive(route(channel, "echoer"), "plain", { timeout: 20_000 })).toBe("plain");

    // The same listener refuses anyone else; the initiator's policy is checked too.
    const mallory = await createIdentity();
    await expect(createSecureChannel(n, mallory, route("bob_listener"), { timeout: 20_000 })).rejects.toBeInstanceOf(SecureChannelRefusedError);
    await expect(createSecureChannel(n, alice, route("bob_listener"), { trustPolicy: trustIdentifier(mallory.identifier), timeout: 20_000 })).rejects.toThrow();
  });

  it("signal cancels the handshake", async () => {
    const n = await start();
    await createSecureChannelListener(n, await createIdentity(), "l", {});
    const controller = new AbortController();
    controller.abort();
    await expect(createSecureChannel(n, await createIdentity(), route("l"), { signal: controller.signal })).rejects.toBeInstanceOf(AbortError);
  });

  it("consumerOf on the listener is asConsumer", async () => {
    const n = await start();
    const scl = await createSecureChannelListener(n, await createIdentity(), "l", { consumerOf: ["fc00", "fc01"] });
    expect(n.flowControls.isConsumer(scl.address, "fc00")).toBe(true);
    expect(n.flowControls.isConsumer(scl.address, "fc01")).toBe(true);
  });

  it("rejects unknown keys and bad values, naming the option", async () => {
    const n = await start();
    const id = await createIdentity();
    await expect(createSecureChannelListener(n, id, "a", { trustpolicy: () => true } as never)).rejects.toThrow(
      /unknown option "trustpolicy"; did you mean "trustPolicy"\? known options: .*trustPolicy/,
    );
    await expect(createSecureChannelListener(n, id, "b", { rekeyInterval: 0 })).rejects.toThrow(/rekeyInterval/);
    await expect(createSecureChannelListener(n, id, "c", { consumerOf: "" })).rejects.toBeInstanceOf(InvalidOptionError);
    await expect(createSecureChannel(n, id, route("a"), { timeout: -1 })).rejects.toThrow(/handshakeTimeout/);
    await expect(createSecureChannel(n, id, route("a"), { timeout: 5, handshakeTimeout: 5 })).rejects.toThrow(/not both/);
    await expect(createSecureChannel(n, id, route("a"), { cryptoThreads: 99 })).rejects.toThrow(/cryptoThreads/);
  });
});
