import { afterEach, describe, expect, it } from "vitest";
import { AbortError, InvalidOptionError, route, type Node } from "@hopwire/runtime";
import { TcpConnectionOptions } from "@hopwire/transport-tcp";
import { startNode, startResponder } from "./support.js";

// Issue 11, item 8: options as plain objects beside the builders, as js-libp2p and Node do.

const nodes: Node[] = [];
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.stop()));
});

describe("TCP options as plain objects", () => {
  it("listen(address, {}) and connect(address, { consumerOf }) work as the builders do", async () => {
    const responder = await startNode("responder");
    nodes.push(responder.node);
    const listener = await responder.tcp.listen("127.0.0.1:0", {});
    expect(listener.flowControlId).toMatch(/^fc/);
    const initiator = await startNode("initiator");
    nodes.push(initiator.node);
    const connection = await initiator.tcp.connect(listener.address, { consumerOf: [listener.flowControlId], timeout: 20_000 });
    expect(initiator.node.flowControls.isConsumer(connection.address, listener.flowControlId)).toBe(true);
  });

  it("connect's timeout and signal live in the options object", async () => {
    const { tcp, node: n } = await startNode("n");
    nodes.push(n);
    // An already aborted signal is exact where a timeout against a live server would race.
    const controller = new AbortController();
    controller.abort();
    await expect(tcp.connect("127.0.0.1:1", { signal: controller.signal })).rejects.toBeInstanceOf(AbortError);
    await expect(tcp.listen("127.0.0.1:0", { signal: controller.signal })).rejects.toBeInstanceOf(AbortError);
  });

  it("rejects unknown keys, bad values, and signal/timeout given twice, naming the option", async () => {
    const { tcp, node: n } = await startNode("n");
    nodes.push(n);
    await expect(tcp.listen("127.0.0.1:0", { tiemout: 5 } as never)).rejects.toThrow(/unknown option "tiemout"; did you mean "timeout"\? known options: .*\btimeout\b/);
    // The key given, not the builder method it stands for (it said "TcpConnectionOptions.asConsumer", option "asConsumer").
    await expect(tcp.connect("127.0.0.1:1", { consumerOf: [""] })).rejects.toMatchObject({
      option: "consumerOf",
      message: 'connect options: consumerOf[0] must be a flow control id (e.g. listener.flowControlId), got ""',
    });
    await expect(tcp.connect("127.0.0.1:1", { timeout: -1 })).rejects.toThrow(/timeout/);
    await expect(tcp.connect("127.0.0.1:1", { timeout: 1 }, { timeout: 2 })).rejects.toThrow(/not also as a third argument/);
    await expect(tcp.connect("127.0.0.1:1", { timeout: 1 }, { timeout: 2 })).rejects.toMatchObject({ option: "timeout" });
    await expect(tcp.connect("127.0.0.1:1", { signal: "no" } as never)).rejects.toBeInstanceOf(InvalidOptionError);
    // `reconnect: true` named a builder method the caller never called, and not what to give.
    await expect(tcp.connect("127.0.0.1:1", { reconnect: true } as never)).rejects.toMatchObject({
      option: "reconnect",
      message: "TcpConnectionOptions.withReconnect: reconnect must be an object ({} for the defaults, or { initialDelay, maxDelay, maxAttempts }), got true",
    });
    // A number given as a string is shown as the string it is.
    await expect(tcp.listen("127.0.0.1:0", { idleTimeout: "5000" } as never)).rejects.toThrow(/got "5000"/);
    // The builder keeps working, with its wait as the third argument.
    await expect(tcp.connect("127.0.0.1:1", new TcpConnectionOptions(), { timeout: -1 })).rejects.toThrow(/timeout/);
  });

  it("a plain-object connection reaches a worker the same way", async () => {
    const responder = await startResponder();
    nodes.push(responder.node);
    const initiator = await startNode("initiator");
    nodes.push(initiator.node);
    const connection = await initiator.tcp.connect(responder.listener.address, { timeout: 20_000 });
    expect(await initiator.node.sendAndReceive(route(connection, "echoer"), "plain", { timeout: 20_000 })).toBe("plain");
  });
});
