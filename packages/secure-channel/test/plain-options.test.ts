import { afterEach, describe, expect, it } from "vitest";
import { AbortError, Echoer, InvalidOptionError, node, route, type Node } from "@hopwire/runtime";
import {
  createIdentity,
  createSecureChannel,
  createSecureChannelListener,
  SecureChannelListenerOptions,
  SecureChannelOptions,
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
      peerTimeout: 20_000,
      keepaliveInterval: 5_000,
    });
    expect(await n.sendAndReceive(route(channel, "echoer"), "plain", { timeout: 20_000 })).toBe("plain");
    // Liveness keys as the docs list them, validated as their setters are.
    await expect(createSecureChannel(n, alice, route("bob_listener"), { peerTimeout: 1 })).rejects.toMatchObject({ option: "peerTimeout" });

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

  it("signal must be an AbortSignal, in the builder and in the plain object", async () => {
    // Anything else was taken, and the handshake's wait later threw from a timer: the process ended.
    const n = await start();
    await createSecureChannelListener(n, await createIdentity(), "l", {});
    for (const bad of ["not a signal", 5, null, {}, { aborted: false }, new AbortController(), Symbol("s"), 1n]) {
      expect(() => new SecureChannelOptions().withSignal(bad as never)).toThrow(InvalidOptionError);
      expect(() => new SecureChannelOptions().withSignal(bad as never)).toThrow(/signal must be an AbortSignal/);
      await expect(createSecureChannel(n, await createIdentity(), route("l"), { signal: bad as never, timeout: 200 })).rejects.toMatchObject({
        name: "InvalidOptionError",
        option: "signal",
      });
    }
    expect(() => new SecureChannelOptions().withSignal(undefined as never)).toThrow(/signal must be an AbortSignal .*; got undefined$/);
    expect(new SecureChannelOptions().withSignal(AbortSignal.timeout(1000)).signal).toBeInstanceOf(AbortSignal);
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
    await expect(createSecureChannel(n, id, route("a"), { timeout: 5, handshakeTimeout: 5 })).rejects.toMatchObject({ option: "timeout" });
    await expect(createSecureChannel(n, id, route("a"), { cryptoThreads: 99 })).rejects.toThrow(/cryptoThreads/);
  });
});

describe("unknown keys in nested options, close options, and the option detail", () => {
  it("receiveWindow, handshakeLimits and sendQueueLimits reject a misspelt key, naming it with its path", async () => {
    const n = await start();
    const id = await createIdentity();
    await expect(createSecureChannelListener(n, id, "a", { receiveWindow: { mesages: 5 } } as never)).rejects.toMatchObject({
      option: "receiveWindow.mesages",
      message: 'receiveWindow: unknown option "mesages"; did you mean "messages"? known options: messages, bytes',
    });
    await expect(createSecureChannelListener(n, id, "b", { handshakeLimits: { maxPendng: 5 } } as never)).rejects.toMatchObject({
      option: "handshakeLimits.maxPendng",
      message: expect.stringMatching(/^handshakeLimits: unknown option "maxPendng"; did you mean "maxPending"\? known options: maxPending, /),
    });
    await expect(createSecureChannel(n, id, route("a"), { sendQueueLimits: { maxMesages: 5 } } as never)).rejects.toMatchObject({
      option: "sendQueueLimits.maxMesages",
    });
    expect(n.router.has(route("a").next()) || n.router.has(route("b").next())).toBe(false);
  });

  it("every option check names its option; a near-miss name points to the right one", async () => {
    const n = await start();
    const id = await createIdentity();
    await expect(createSecureChannelListener(n, id, "a", { rekeyInterval: 0 })).rejects.toMatchObject({ option: "rekeyInterval" });
    await expect(createSecureChannelListener(n, id, "a", { cryptoThreads: 99 })).rejects.toMatchObject({ option: "cryptoThreads" });
    // A timer fires at once for a delay past 2^31 - 1 ms: that handshake failed at once.
    await expect(createSecureChannel(n, id, route("a"), { handshakeTimeout: 2 ** 31 })).rejects.toMatchObject({ option: "handshakeTimeout" });
    // The relay and the portals spell their timeouts with Ms; here they have none.
    await expect(createSecureChannel(n, id, route("a"), { handshakeTimeoutMs: 5 } as never)).rejects.toMatchObject({
      option: "handshakeTimeoutMs",
      message: expect.stringMatching(/unknown option "handshakeTimeoutMs"; did you mean "handshakeTimeout"\?/),
    });
  });

  it("peerTimeout and keepaliveInterval follow the rule of every timeout: up to 2^31 - 1 ms, or Infinity for none", async () => {
    // 1e300 and 2^53 were taken and Infinity refused.
    const n = await start();
    const id = await createIdentity();
    for (const [option, min] of [["peerTimeout", 150], ["keepaliveInterval", 50]] as const) {
      const setter = option === "peerTimeout" ? "withPeerTimeout" : "withKeepaliveInterval";
      for (const Options of [SecureChannelOptions, SecureChannelListenerOptions]) {
        for (const good of [min, 2 ** 31 - 1, Infinity]) expect(new Options()[setter](good)[option]).toBe(good);
        for (const bad of [min - 1, 2 ** 31, 2 ** 53, 1e300, -Infinity, Number.NaN, "1000", null, 1000n]) {
          expect(() => new Options()[setter](bad as number)).toThrow(expect.objectContaining({ name: "InvalidOptionError", option }));
          expect(() => new Options()[setter](bad as number)).toThrow(new RegExp(`^${option} must be a number of ms from ${min} to 2147483647, or Infinity `));
        }
      }
      await expect(createSecureChannel(n, id, route("a"), { [option]: 1e300 })).rejects.toMatchObject({ option });
      await expect(createSecureChannelListener(n, id, "a", { [option]: 2 ** 53 })).rejects.toMatchObject({ option });
    }
    expect(n.router.has(route("a").next())).toBe(false);
  });

  it("close takes { timeoutMs } only: { timeout } was ignored, a bad timeoutMs closed at once", async () => {
    const n = await start();
    const alice = await createIdentity();
    const scl = await createSecureChannelListener(n, await createIdentity(), "l", {});
    await n.startWorker("echoer", new Echoer(), { placement: "main" });
    n.flowControls.addConsumer("echoer", scl.flowControlId);
    const channel = await createSecureChannel(n, alice, route("l"), { timeout: 20_000 });
    await expect(channel.close({ timeout: 100 } as never)).rejects.toMatchObject({
      option: "timeout",
      message: 'close options: unknown option "timeout"; did you mean "timeoutMs"? known options: timeoutMs',
    });
    await expect(channel.close({ timeoutMs: -1 })).rejects.toMatchObject({ option: "timeoutMs" });
    // Nothing was closed by the refused calls.
    expect(channel.isClosed).toBe(false);
    expect(await n.sendAndReceive(route(channel, "echoer"), "still open", { timeout: 20_000 })).toBe("still open");
    await channel.close({ timeoutMs: Infinity });
    expect(channel.isClosed).toBe(true);
  });
});
