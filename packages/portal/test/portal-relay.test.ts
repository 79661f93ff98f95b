// A portal through a relay: alice → middle node's built-in relay "forward_to_bob" → bob,
// with the secure channel end to end (the middle sees only ciphertext) and the portal inside
// it. Three real nodes in this process, real TCP between them.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { node, route, startRelay, type Node } from "@hopwire/runtime";
import { createIdentity, createSecureChannel, createSecureChannelListener, SecureChannelListenerOptions, SecureChannelOptions } from "@hopwire/secure-channel";
import { createTcpTransport, TcpConnectionOptions, TcpListenerOptions } from "@hopwire/transport-tcp";
import { createInlet, createOutlet, type Inlet, type Outlet } from "@hopwire/portal";
import { checkStalledClientDoesNotSlowOthers } from "./support/stall.js";
import { bodyOf, download, startBodyServer, type BodyServer } from "./support/http.js";
import { within } from "./support/tcp.js";

const MiB = 1024 * 1024;
let nodes: Node[] = [];
let server: BodyServer;
let inlet: Inlet;
let outlet: Outlet;

beforeAll(async () => {
  server = await startBodyServer();
  const bob = await node({ name: "bob" });
  const middle = await node({ name: "middle" });
  const alice = await node({ name: "alice" });
  nodes = [alice, middle, bob];
  // bob: listens, a channel listener on it, the outlet behind the channel listener
  const bobListener = await (await createTcpTransport(bob)).listen("127.0.0.1:0", new TcpListenerOptions());
  const channels = await createSecureChannelListener(bob, await createIdentity(), "bob_listener", new SecureChannelListenerOptions().asConsumer(bobListener.flowControlId));
  outlet = await createOutlet(bob, { to: server.address, asConsumer: channels.flowControlId });
  // middle: a connection to bob, the relay through it, a listener whose connections may reach the relay
  const middleTcp = await createTcpTransport(middle);
  const toBob = await middleTcp.connect(bobListener.address, new TcpConnectionOptions());
  await startRelay(middle, "forward_to_bob", route(toBob));
  const middleListener = await middleTcp.listen("127.0.0.1:0", new TcpListenerOptions());
  middle.flowControls.addConsumer("forward_to_bob", middleListener.flowControlId);
  // alice: a connection to the middle, a channel through the relay to bob, the inlet
  const toMiddle = await (await createTcpTransport(alice)).connect(middleListener.address, new TcpConnectionOptions());
  const channel = await createSecureChannel(alice, await createIdentity(), route(toMiddle, "forward_to_bob", "bob_listener"), new SecureChannelOptions());
  inlet = await createInlet(alice, { listen: "127.0.0.1:0", route: route(channel, "outlet") });
});

afterAll(async () => {
  for (const n of nodes) await n.stop();
  await server?.close();
});

describe("portal through a relay", () => {
  for (const size of [0, 1024, 64 * MiB]) {
    it(`a ${size} B download arrives byte-identical through the relay`, async () => {
      const got = await within(download(inlet.port, size), `the ${size} B download`, 120_000);
      expect(got.sha256).toBe(bodyOf(size).hash);
    }, 180_000);
  }

  it("50 concurrent clients through the relay all get their bodies intact", async () => {
    const many = await within(Promise.all(Array.from({ length: 50 }, (_, i) => download(inlet.port, 64 * 1024 + i))), "50 downloads", 120_000);
    many.forEach((r, i) => expect(r.sha256).toBe(bodyOf(64 * 1024 + i).hash));
  }, 180_000);

  it("a client that stops reading does not slow the others through the relay; its bytes arrive intact when it reads again", async () => {
    await checkStalledClientDoesNotSlowOthers(inlet.port, outlet, server);
  }, 240_000);
});
