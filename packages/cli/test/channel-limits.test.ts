import { afterEach, describe, expect, it, vi } from "vitest";
import { once } from "node:events";
import { connect as connectNet, createServer, type AddressInfo, type Socket } from "node:net";
import { createInlet } from "@hopwire/portal";
import { node, route, type Node } from "@hopwire/runtime";
import { createTcpTransport, tcpTransportOf, type TcpListener } from "@hopwire/transport-tcp";
import { createIdentity, createSecureChannel } from "@hopwire/secure-channel";
import { parseConfig, startNodeFromConfig, type RunningNode } from "../dist/index.js";
import { newHome, removeHomes } from "./processes.js";

const running: RunningNode[] = [];
const nodes: Node[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((r) => r.stop()));
  await Promise.all(nodes.splice(0).map((n) => n.stop()));
  removeHomes();
});

/**
 * A node started from a configuration whose outlet (outlets[0], with `limits`) leads to a target that keeps every
 * connection it accepts, and an inlet on another node that reaches that outlet through a secure channel: what the
 * outlet logs, the target's connections, and `close` for the target.
 */
async function outletBehindInlet(limits: Record<string, number>): Promise<{ accepted: Socket[]; inletPort: number; lines: string[]; close: () => void }> {
  const accepted: Socket[] = [];
  const target = createServer((socket) => void accepted.push(socket.on("error", () => {})));
  target.listen(0, "127.0.0.1");
  await once(target, "listening");
  const close = (): void => {
    for (const s of accepted) s.destroy();
    target.close();
  };
  try {
    const to = `127.0.0.1:${(target.address() as AddressInfo).port}`;
    const config = parseConfig({ tcpListeners: [{ address: "127.0.0.1:0" }], secureChannelListeners: [{ address: "api", trust: "everyone" }], outlets: [{ to, ...limits }] }, "test");
    const lines: string[] = [];
    const r = await startNodeFromConfig(config, { home: newHome(), source: "test", log: (line: string) => void lines.push(line) });
    running.push(r);
    const client = await node({ name: "client" });
    nodes.push(client);
    const connection = await (await createTcpTransport(client)).connect(tcpTransportOf(r.node)!.listeners[0]!.address);
    const channel = await createSecureChannel(client, await createIdentity(), route(connection, "api"));
    const inlet = await createInlet(client, { listen: "127.0.0.1:0", route: route(channel, "outlet") });
    return { accepted, inletPort: inlet.port, lines, close };
  } catch (error) {
    close();
    throw error;
  }
}

describe("a configured outlet's stream limits", () => {
  it("maxStreamsPerChannel applies: one inlet's second client connection is refused while its first is carried", async () => {
    const { accepted: held, inletPort, close } = await outletBehindInlet({ maxStreamsPerChannel: 1 });
    try {
      const first = connectNet({ host: "127.0.0.1", port: inletPort }).on("error", () => {});
      await vi.waitFor(() => expect(held).toHaveLength(1), { timeout: 20_000 });
      const second = connectNet({ host: "127.0.0.1", port: inletPort }).on("error", () => {});
      await new Promise((resolve) => second.on("close", resolve)); // reset (ECONNRESET): PORTAL_STREAM_LIMIT at the outlet
      expect(first.destroyed).toBe(false);
      expect(held).toHaveLength(1);
      first.destroy();
    } finally {
      close();
    }
  });
});

describe("a configured outlet's open rate", () => {
  it("maxOpensPerSecondPerChannel applies: one inlet's second connection within the second is refused, logged with the key", async () => {
    const { accepted, inletPort, lines, close } = await outletBehindInlet({ maxOpensPerSecondPerChannel: 1 });
    try {
      const first = connectNet({ host: "127.0.0.1", port: inletPort }).on("error", () => {});
      await vi.waitFor(() => expect(accepted).toHaveLength(1), { timeout: 20_000 });
      first.destroy(); // closed: the rate, not the number at once, refuses the next
      const second = connectNet({ host: "127.0.0.1", port: inletPort }).on("error", () => {});
      // Reset: PORTAL_STREAM_LIMIT at the outlet (without the limit it is carried, and stays open).
      await vi.waitFor(() => expect(second.destroyed).toBe(true), { timeout: 10_000 });
      expect(accepted).toHaveLength(1);
      await vi.waitFor(() => expect(lines.join("\n")).toContain("maxOpensPerSecondPerChannel) (PORTAL_STREAM_LIMIT)"), { timeout: 20_000 });
    } finally {
      close();
    }
  });

  it("rejects a rate that is no whole number from 1 to 1000000, naming the key", () => {
    const outlet = (maxOpensPerSecondPerChannel: number) =>
      parseConfig({ secureChannelListeners: [{ address: "api", trust: "everyone" }], tcpListeners: [{ address: "127.0.0.1:0" }], outlets: [{ to: "127.0.0.1:1", maxOpensPerSecondPerChannel }] }, "test");
    expect(() => outlet(0)).toThrow("test: outlets[0].maxOpensPerSecondPerChannel: expected a positive whole number");
    expect(() => outlet(2_000_000)).toThrow("test: outlets[0].maxOpensPerSecondPerChannel: expected at most 1000000");
  });
});

describe("a configured secure channel listener's channel limits", () => {
  it("maxChannelsPerConnection applies: the second channel over one connection is refused with the limit's reason", async () => {
    const config = parseConfig(
      { tcpListeners: [{ address: "127.0.0.1:0" }], secureChannelListeners: [{ address: "api", trust: "everyone", maxChannels: 8, maxChannelsPerConnection: 1 }] },
      "test",
    );
    const r = await startNodeFromConfig(config, { home: newHome(), source: "test", log: () => {} });
    running.push(r);
    const listener: TcpListener = tcpTransportOf(r.node)!.listeners[0]!;
    const client = await node({ name: "client" });
    nodes.push(client);
    const connection = await (await createTcpTransport(client)).connect(listener.address);
    const identity = await createIdentity();
    await createSecureChannel(client, identity, route(connection, "api"));
    const error = await createSecureChannel(client, identity, route(connection, "api")).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "SECURE_CHANNEL_REFUSED", reason: "HANDSHAKE_CONNECTION_CHANNEL_LIMIT" });
  });

  it("rejects a limit that is no positive whole number, naming the key", () => {
    expect(() => parseConfig({ secureChannelListeners: [{ address: "api", trust: "everyone", maxChannelsPerConnection: 0 }] }, "test")).toThrow(
      "test: secureChannelListeners[0].maxChannelsPerConnection: expected a positive whole number",
    );
  });
});
