import { afterEach, describe, expect, it } from "vitest";
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

describe("a configured secure channel listener's channel limits", () => {
  it("maxChannelsPerConnection applies: the second channel over one connection is refused with the limit's reason", async () => {
    const config = parseConfig(
      { tcpListeners: [{ address: "127.0.0.1:0" }], secureChannelListeners: [{ address: "api", maxChannels: 8, maxChannelsPerConnection: 1 }] },
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
    expect(() => parseConfig({ secureChannelListeners: [{ address: "api", maxChannelsPerConnection: 0 }] }, "test")).toThrow(
      "test: secureChannelListeners[0].maxChannelsPerConnection: expected a positive whole number",
    );
  });
});
