// HTTP through a portal: Node's own clients → inlet (alice) → secure channel over real TCP →
// outlet (bob) → a real HTTP server. Bodies are compared by SHA-256.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { route } from "@hopwire/runtime";
import { createInlet, createOutlet, type Inlet, type Outlet } from "@hopwire/portal";
import { bodyOf, download, sha256, startBodyServer, type BodyServer } from "./support/http.js";
import { startPortalNodes, type PortalNodes } from "./support/nodes.js";
import { within } from "./support/tcp.js";
import { checkStalledClientDoesNotSlowOthers } from "./support/stall.js";

const KiB = 1024;
// Every fetch on a connection of its own: fetch's pool would otherwise send a request on a
// connection an earlier test left idle, which the server (keep-alive 5 s) may close just as the
// request goes out through the portal; on a starved host that was seen as "fetch failed:
// other side closed" for the upload (undici retries nothing, and a POST cannot be retried).
const OWN_CONNECTION = { connection: "close" };
const MiB = 1024 * KiB;

let nodes: PortalNodes;
let server: BodyServer;
let outlet: Outlet;
let inlet: Inlet;

beforeAll(async () => {
  server = await startBodyServer();
  nodes = await startPortalNodes();
  outlet = await createOutlet(nodes.bob, { address: "outlet", to: server.address, asConsumer: nodes.listener.flowControlId });
  inlet = await createInlet(nodes.alice, { listen: "127.0.0.1:0", route: route(nodes.channel, "outlet") });
});

afterAll(async () => {
  await nodes?.stop();
  await server?.close();
});

// 16 MiB is 16 of a stream's 1 MiB windows each way: credit runs out and is granted again
// many times. Issue 10's 64 MiB is moved through the relay (portal-relay.test.ts) and by the
// stalled client below; here it would only repeat the same windows at 4x the CPU.
describe("HTTP through inlet → secure channel → outlet", () => {
  for (const size of [0, 1 * KiB, 16 * MiB]) {
    it(`fetch downloads a ${size} B body byte-identical`, async () => {
      const res = await fetch(`http://${inlet.address}/bytes/${size}`, { headers: OWN_CONNECTION });
      const body = new Uint8Array(await res.arrayBuffer());
      expect(res.status).toBe(200);
      expect(body.length).toBe(size);
      expect(sha256(body)).toBe(bodyOf(size).hash);
    }, 120_000);
  }

  it("fetch uploads a 16 MiB body byte-identical", async () => {
    const body = bodyOf(16 * MiB);
    const res = await fetch(`http://${inlet.address}/hash`, { method: "POST", body: body.bytes, headers: OWN_CONNECTION });
    expect(await res.json()).toEqual({ length: body.bytes.length, sha256: body.hash });
  }, 120_000);

  it("50 concurrent clients, each on its own connection, all get their bodies intact", async () => {
    const before = server.connections();
    const results = await within(
      Promise.all(Array.from({ length: 50 }, (_, i) => download(inlet.port, 64 * KiB + i))),
      "50 downloads",
      120_000,
    );
    results.forEach((r, i) => {
      expect(r.length).toBe(64 * KiB + i);
      expect(r.sha256).toBe(r.expected);
      expect(r.sha256).toBe(bodyOf(64 * KiB + i).hash);
    });
    expect(server.connections() - before).toBe(50);
  }, 120_000);

  it("a client that stops reading does not slow the others; its own bytes wait at the server and arrive intact when it reads again", async () => {
    await checkStalledClientDoesNotSlowOthers(inlet.port, outlet, server);
  }, 240_000);
});
