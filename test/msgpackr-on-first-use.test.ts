import { afterEach, describe, expect, it } from "vitest";
import { fileURLToPath } from "node:url";
import { Echoer, node, route, type Node } from "@hopwire/runtime";
import { createTcpTransport, TcpConnectionOptions, TcpListenerOptions } from "@hopwire/transport-tcp";
import { createIdentity, createSecureChannel, createSecureChannelListener, SecureChannelListenerOptions } from "@hopwire/secure-channel";
import { killAll, startChild } from "./support/children.js";

// msgpackr (≈ 0.4-0.75 MB of heap in each process and thread that loads it) is loaded on first
// use: a node that only moves bytes never loads it. The seed's middle node carries a secure
// channel whose messages are strings, and sees only ciphertext: it must never need msgpack.

const nodes: Node[] = [];
afterEach(async () => {
  killAll();
  await Promise.all(nodes.splice(0).map((n) => n.stop()));
});

describe("msgpackr, loaded on first use", () => {
  it("is never loaded by the seed's middle node carrying a channel of string messages, and is by its first body that needs it", async () => {
    // The responder: a TCP listener, a secure channel listener and an echoer (this process).
    const bob = await node();
    nodes.push(bob);
    const bobTcp = await createTcpTransport(bob);
    const bobListener = await bobTcp.listen("127.0.0.1:0", new TcpListenerOptions());
    const channels = await createSecureChannelListener(bob, await createIdentity(), "listener", new SecureChannelListenerOptions().asConsumer(bobListener.flowControlId));
    await bob.startWorker("echoer", Echoer, { placement: "main" });
    bob.flowControls.addConsumer("echoer", channels.flowControlId);
    bob.flowControls.addConsumer("echoer", bobListener.flowControlId); // the middle's plain "ping" below

    const middle = startChild(fileURLToPath(new URL("./fixtures/msgpackr/middle.mjs", import.meta.url)), [bobListener.address]);
    const middleAddress = (await middle.line(/^LISTENING (\S+)$/))[1]!;

    // The initiator (this process): a channel through the middle's relay, strings both ways.
    const alice = await node();
    nodes.push(alice);
    const toMiddle = await (await createTcpTransport(alice)).connect(middleAddress, new TcpConnectionOptions());
    const channel = await createSecureChannel(alice, await createIdentity(), route(toMiddle, "forward_to_bob", "listener"));
    for (let i = 0; i < 20; i++) expect(await alice.sendAndReceive(route(channel, "echoer"), `Hello Ockam! ${i}`)).toBe(`Hello Ockam! ${i}`);

    middle.tell("msgpackr?");
    expect((await middle.nextLine(/^MSGPACKR (\w+)$/))[1]).toBe("false");
    // The check can tell: a string body of the middle's own loads it there.
    middle.tell("use");
    expect((await middle.nextLine(/^USED (.*)$/))[1]).toBe('"ping"');
    middle.tell("msgpackr?");
    expect((await middle.nextLine(/^MSGPACKR (\w+)$/))[1]).toBe("true");
    middle.tell("stop");
    await middle.line(/^STOPPED$/);
  });
});
