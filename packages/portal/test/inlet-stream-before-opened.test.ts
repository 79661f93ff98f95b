// An inlet stream takes nothing from its outlet but OPENED or RESET before OPENED, whether a DATA
// comes whole or in parts (a message that spanned socket reads): in parts it skipped that rule and
// was written to the client (a review, session 54).
import { connect } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { Address, LocalMessage, node, route, type Node } from "@hopwire/runtime";
import { InletStream } from "../dist/inlet/inlet-stream.js";
import { Lingering, WindowGrowth } from "../dist/stream/index.js";
import { encodeDataParts, KIND } from "../dist/protocol/index.js";
import { PortalProtocolError } from "@hopwire/portal";
import { startRawServer, until, type RawServer } from "./support/tcp.js";

const nodes: Node[] = [];
const servers: RawServer[] = [];
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.stop()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

describe("an inlet stream before OPENED", () => {
  for (const how of ["whole", "in parts"] as const) {
    it(`refuses a DATA that comes ${how}, and writes none of it to its client`, async () => {
      const n = await node({ warnings: false });
      nodes.push(n);
      const client: Buffer[] = [];
      const server = await startRawServer((socket) => socket.on("data", (chunk: Buffer) => client.push(chunk)));
      servers.push(server);
      const socket = connect(server.port, "127.0.0.1");
      await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
      await until(() => server.connections() === 1, "the client's connection");
      const reasons: unknown[] = [];
      const owner = { router: n.router, log: n.log, windowGrowth: new WindowGrowth(0), lingering: new Lingering(n.router, 16), afterHandOff: undefined, streamClosed: (_s: unknown, reason: unknown) => reasons.push(reason) };
      const stream = new InletStream(owner, socket, 1 << 20, 1 << 20);
      const outlet = Address.random();
      n.router.register([outlet], { address: outlet, deliver: () => {} });
      stream.setPeer(route(outlet));
      const bytes = Buffer.from("before-opened");
      const payload = how === "whole" ? Buffer.concat(encodeDataParts(bytes)) : undefined;
      stream.deliver(payload !== undefined ? new LocalMessage(route(stream.address), route(outlet), payload) : LocalMessage.fromParts(route(stream.address), route(outlet), [Uint8Array.of(KIND.DATA), bytes]));
      expect(stream.finished).toBe(true);
      expect(reasons[0]).toBeInstanceOf(PortalProtocolError);
      await until(() => socket.destroyed, "the client's socket reset");
      expect(Buffer.concat(client).toString()).toBe("");
    });
  }
});
