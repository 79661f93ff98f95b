// Stream semantics of a portal over a secure channel over real TCP: half-close both ways,
// resets, a target that is down, the outlet's allow-list and flow controls, teardown.
import { describe, expect, it } from "vitest";
import { connect } from "node:net";
import { Address, InvalidOptionError, LocalMessage, route, type Mailbox, type Route, type Router } from "@hopwire/runtime";
import { createInlet, createOutlet, type Inlet } from "@hopwire/portal";
import { encodeEnd, encodeOpen, encodeReset, KIND, kindOf } from "../dist/protocol/index.js";
import { eventually } from "../../../test/support/eventually.js";
import { portalNodesForEachTest, type PortalNodes } from "./support/nodes.js";
import { freePort, recordingClient, startRawServer, until, within, type RawServer } from "./support/tcp.js";

let nodes: PortalNodes;
const servers: RawServer[] = [];
portalNodesForEachTest((n) => (nodes = n), servers);

async function server(onSocket: Parameters<typeof startRawServer>[0]): Promise<RawServer> {
  const s = await startRawServer(onSocket);
  servers.push(s);
  return s;
}

/** An outlet to `to` reachable through bob's channel listener, and an inlet to it; the inlet's stream-end reasons are recorded. */
async function portal(
  to: string,
  extra: { allow?: string[]; target?: string; asConsumer?: boolean; openTimeoutMs?: number; window?: { windowBytes: number; maxWindowBytes: number } } = {},
) {
  const outlet = await createOutlet(nodes.bob, {
    to,
    ...(extra.allow ? { allow: extra.allow } : {}),
    ...(extra.asConsumer === false ? {} : { asConsumer: nodes.listener.flowControlId }),
    ...extra.window,
  });
  const inlet = await createInlet(nodes.alice, {
    listen: "127.0.0.1:0",
    route: route(nodes.channel, "outlet"),
    ...(extra.target ? { target: extra.target } : {}),
    ...(extra.openTimeoutMs ? { openTimeoutMs: extra.openTimeoutMs } : {}),
    ...extra.window,
  });
  const reasons: (string | undefined)[] = [];
  const errors: (Error | undefined)[] = [];
  inlet.onStreamClosed((reason) => {
    reasons.push((reason as { code?: string } | undefined)?.code);
    errors.push(reason);
  });
  const outletReasons: (string | undefined)[] = [];
  outlet.onStreamClosed((reason) => outletReasons.push((reason as { code?: string } | undefined)?.code));
  return { inlet, reasons, errors, outlet, outletReasons };
}

function readAll(socket: import("node:net").Socket): Promise<string> {
  return new Promise((resolve) => {
    let text = "";
    socket.on("data", (d: Buffer) => (text += d.toString()));
    socket.on("end", () => resolve(text));
  });
}

describe("half-close", () => {
  it("the client half-closes first: the server sees its FIN, then still answers, and the client reads the answer", async () => {
    const target = await server((socket) => {
      void readAll(socket).then((text) => socket.end(`got:${text}`));
    });
    const { inlet, reasons, outletReasons } = await portal(target.address);
    const client = await recordingClient(inlet.port);
    client.socket.end("hello");
    await within(client.ended, "the server's answer after the client's FIN");
    expect(client.received().toString()).toBe("got:hello");
    expect(await within(client.closed, "the client's close")).toBeUndefined();
    await until(() => reasons.length === 1 && outletReasons.length === 1, "both ends of the stream to end");
    expect(reasons).toEqual([undefined]);
    expect(outletReasons).toEqual([undefined]);
  });

  // The inlet's last CREDITs (for the answer's bytes its client drained) used to reach the outlet after its stream
  // had gone, each one a "dropped" warning for a generated address: one per clean connection from ~256 KiB up.
  it("a large answer after the client's FIN ends cleanly, and nothing the peers send at the end is dropped", async () => {
    const target = await server((socket) => {
      const chunks: Buffer[] = [];
      socket.on("data", (d: Buffer) => chunks.push(d));
      socket.on("end", () => socket.end(Buffer.concat(chunks)));
    });
    const drops: string[] = [];
    nodes.bob.on("dropped", (event) => drops.push(`${event.reason} ${event.address}`));
    nodes.alice.on("dropped", (event) => drops.push(`${event.reason} ${event.address}`));
    const { inlet, reasons, outletReasons } = await portal(target.address);
    const size = 1024 * 1024;
    for (let i = 0; i < 3; i++) {
      const client = await recordingClient(inlet.port);
      client.socket.end(Buffer.alloc(size, i));
      await within(client.ended, "the echoed megabyte");
      expect(client.received().equals(Buffer.alloc(size, i))).toBe(true);
      await until(() => outletReasons.length === i + 1 && reasons.length === i + 1, "both ends of the stream to end");
    }
    // One more exchange over the same channel: whatever the inlet sent before it has reached the outlet (a channel keeps order).
    const last = await recordingClient(inlet.port);
    last.socket.end("x");
    await within(last.ended, "the last echo");
    expect(reasons.every((r) => r === undefined) && outletReasons.every((r) => r === undefined)).toBe(true);
    expect(drops).toEqual([]);
  });

  it("the server half-closes first: the client sees its FIN, then still sends, and the server reads it", async () => {
    let serverRead!: Promise<string>;
    const target = await server((socket) => {
      serverRead = readAll(socket);
      socket.end("banner");
    });
    const { inlet, reasons } = await portal(target.address);
    const client = await recordingClient(inlet.port);
    await within(client.ended, "the server's FIN at the client");
    expect(client.received().toString()).toBe("banner");
    client.socket.end("after-your-fin");
    expect(await within(serverRead, "the client's bytes after the server's FIN")).toBe("after-your-fin");
    await until(() => reasons.length === 1, "the stream to end");
    expect(reasons).toEqual([undefined]);
  });
});

describe("resets", () => {
  it("a server that resets its connection: the client sees ECONNRESET", async () => {
    const target = await server((socket) => socket.once("data", () => socket.resetAndDestroy()));
    const { inlet, reasons } = await portal(target.address);
    const client = await recordingClient(inlet.port);
    client.socket.write("x");
    const error = await within(client.closed, "the client's connection to close");
    expect(error?.code).toBe("ECONNRESET");
    await until(() => reasons.length === 1, "the stream to end");
    expect(reasons[0]).toBe("PORTAL_RESET");
  });

  it("a client that resets its connection: the server's connection is reset too", async () => {
    let serverClosed!: Promise<string | undefined>;
    const target = await server((socket) => {
      serverClosed = new Promise((resolve) => {
        let code: string | undefined;
        socket.on("error", (e: NodeJS.ErrnoException) => (code = e.code));
        socket.on("close", () => resolve(code));
      });
      socket.write("ready");
    });
    const { inlet } = await portal(target.address);
    const client = await recordingClient(inlet.port);
    await until(() => client.received().toString() === "ready", "the server's first bytes");
    client.socket.resetAndDestroy();
    expect(await within(serverClosed, "the server's connection to close")).toBe("ECONNRESET");
  });

  it("an outlet target that is down: the client's connection is closed promptly and nothing else breaks", async () => {
    const { inlet, reasons, errors, outlet, outletReasons } = await portal(`127.0.0.1:${await freePort()}`);
    const client = await recordingClient(inlet.port);
    const error = await within(client.closed, "the client's connection to close", 10_000);
    expect(error?.code).toBe("ECONNRESET");
    expect(client.received().length).toBe(0);
    expect(reasons).toEqual(["PORTAL_TARGET_UNREACHABLE"]);
    // The outlet's RESET says why its dial failed (a system error code, never the address).
    expect((errors[0]?.cause as { code?: string } | undefined)?.code).toBe("ECONNREFUSED");
    expect(errors[0]?.message).toMatch(/\(ECONNREFUSED, reported by the peer\)$/);
    expect(errors[0]?.message).not.toMatch(/127\.0\.0\.1/);
    expect(outletReasons).toEqual(["PORTAL_TARGET_UNREACHABLE"]);
    expect(outlet.refusedStreams).toBe(1);
    expect(nodes.channel.isClosed).toBe(false);
  });

  // END then RESET in one batch (a client's FIN, then its node stopping): the outlet's socket had its
  // FIN queued when the reset came, which libuv refuses (EINVAL) and Node 20 then dropped the handle
  // unclosed: the connection to the target stayed open for the life of the process. The target, having
  // read the FIN, does not notice the RST after it (nothing reads on): the process's open sockets tell.
  it("a RESET right behind END, in one turn: the outlet's target connection is still closed, not left open", async () => {
    const openSockets = (): number => process.getActiveResourcesInfo().filter((kind) => kind === "TCPSocketWrap").length;
    const before = openSockets();
    let targetEnded = false;
    const target = await server((socket) => socket.on("end", () => (targetEnded = true)));
    const outlet = await createOutlet(nodes.bob, { to: target.address });
    const outletReasons: (string | undefined)[] = [];
    outlet.onStreamClosed((reason) => outletReasons.push(reason?.code));
    const inletStream = new HandInletStream(nodes.bob.router);
    inletStream.send(route(outlet.address), encodeOpen(64 * 1024, ""));
    await until(() => inletStream.peer !== undefined, "the outlet's OPENED");

    inletStream.send(inletStream.peer!, encodeEnd());
    inletStream.send(inletStream.peer!, encodeReset("PORTAL_RESET"));
    expect(outletReasons).toEqual(["PORTAL_RESET"]);
    await until(() => targetEnded, "the target to see the outlet's FIN");
    await target.close();
    await eventually(() => openSockets() === before, 5_000, "the outlet's socket to the target to close");
  });
});

/** An inlet's stream by hand, on bob's own node: it sends what it is told to, and keeps the route OPENED came from. */
class HandInletStream implements Mailbox {
  readonly address = Address.random();
  peer: Route | undefined;

  constructor(private readonly router: Router) {
    router.register([this.address], this);
  }

  deliver(message: LocalMessage): void {
    if (kindOf(message) === KIND.OPENED) this.peer = message.returnRoute;
  }

  send(to: Route, payload: Uint8Array): void {
    this.router.route(new LocalMessage(to, route(this.address), payload), this.address.key);
  }
}

describe("what an outlet may reach, and who may reach it", () => {
  it("an inlet may ask for a target on the outlet's allow-list, and is refused one that is not (never dialled)", async () => {
    const echo = (socket: import("node:net").Socket) => socket.pipe(socket);
    const main = await server(echo);
    const allowed = await server(echo);
    const forbidden = await server(echo);
    const outlet = await createOutlet(nodes.bob, { to: main.address, allow: [allowed.address], asConsumer: nodes.listener.flowControlId });
    // The outlet's side of a refusal, for its operator (a refused OPEN is no stream: onStreamClosed never hears of it).
    const outletRefused: string[] = [];
    outlet.onRefused((reason) => outletRefused.push(`${reason.code}: ${reason.message}`));
    const outletClosed: unknown[] = [];
    outlet.onStreamClosed((reason) => outletClosed.push(reason));
    const good = await createInlet(nodes.alice, { listen: "127.0.0.1:0", route: route(nodes.channel, "outlet"), target: allowed.address });
    const bad = await createInlet(nodes.alice, { listen: "127.0.0.1:0", route: route(nodes.channel, "outlet"), target: forbidden.address });
    const badReasons: (string | undefined)[] = [];
    const badMessages: (string | undefined)[] = [];
    bad.onStreamClosed((r) => {
      badReasons.push((r as { code?: string } | undefined)?.code);
      badMessages.push(r?.message);
    });

    const ok = await recordingClient(good.port);
    ok.socket.write("ping");
    await until(() => ok.received().toString() === "ping", "the echo through the allowed target");
    expect(allowed.connections()).toBe(1);

    const refused = await recordingClient(bad.port);
    refused.socket.write("ping");
    expect((await within(refused.closed, "the refused client to close"))?.code).toBe("ECONNRESET");
    expect(badReasons).toEqual(["PORTAL_TARGET_NOT_ALLOWED"]);
    // The RESET carries its code only; the inlet names the target it asked for (it said "this target").
    expect(badMessages).toEqual([`The outlet does not allow the target ${forbidden.address} (not on its allow option)`]);
    expect(forbidden.connections()).toBe(0);
    expect(outletRefused).toEqual([`PORTAL_TARGET_NOT_ALLOWED: target ${forbidden.address} is not on the allow-list`]);
    expect(outletClosed).toEqual([]);
    expect(outlet.refusedStreams).toBe(1);
    ok.socket.destroy();
  });

  it("an outlet that is not a consumer of the channel listener's flow control is unreachable through the channel", async () => {
    const target = await server((socket) => socket.pipe(socket));
    const { inlet, reasons, errors } = await portal(target.address, { asConsumer: false, openTimeoutMs: 500 });
    const client = await recordingClient(inlet.port);
    client.socket.write("ping");
    await within(client.closed, "the client to be closed");
    expect(reasons).toEqual(["PORTAL_OPEN_TIMEOUT"]);
    // Where the answer should have come from, and which option waited (it said only "in time").
    expect(errors[0]?.message).toBe(`The outlet at ${inlet.route.toString()} did not answer within 500 ms (openTimeoutMs)`);
    expect(target.connections()).toBe(0);
  });
});

describe("limits", () => {
  it("an outlet at maxStreams refuses the next stream; the first keeps working", async () => {
    const target = await server((socket) => socket.pipe(socket));
    await createOutlet(nodes.bob, { to: target.address, asConsumer: nodes.listener.flowControlId, maxStreams: 1 });
    const inlet = await createInlet(nodes.alice, { listen: "127.0.0.1:0", route: route(nodes.channel, "outlet") });
    const reasons: (string | undefined)[] = [];
    inlet.onStreamClosed((r) => reasons.push((r as { code?: string } | undefined)?.code));
    const first = await recordingClient(inlet.port);
    first.socket.write("one");
    await until(() => first.received().toString() === "one", "the first client's echo");
    const second = await recordingClient(inlet.port);
    expect((await within(second.closed, "the second client to be reset"))?.code).toBe("ECONNRESET");
    expect(reasons).toEqual(["PORTAL_STREAM_LIMIT"]);
    first.socket.write("two");
    await until(() => first.received().toString() === "onetwo", "the first client's second echo");
    expect(target.connections()).toBe(1);
    first.socket.destroy();
  });

  // Node closes a connection past the server's maxConnections before the inlet sees it: nothing was said.
  it("an inlet at maxStreams resets the next client connection and says so to onStreamClosed", async () => {
    const target = await server((socket) => socket.pipe(socket));
    await createOutlet(nodes.bob, { to: target.address, asConsumer: nodes.listener.flowControlId });
    const inlet = await createInlet(nodes.alice, { listen: "127.0.0.1:0", route: route(nodes.channel, "outlet"), maxStreams: 1 });
    const reasons: (Error | undefined)[] = [];
    inlet.onStreamClosed((r) => reasons.push(r));
    const first = await recordingClient(inlet.port);
    first.socket.write("one");
    await until(() => first.received().toString() === "one", "the first client's echo");
    // Reset at once: as it connects, or just after.
    const second = await recordingClient(inlet.port).then(
      (client) => within(client.closed, "the second client to be reset"),
      (error: NodeJS.ErrnoException) => error,
    );
    expect(second?.code).toBe("ECONNRESET");
    await until(() => reasons.length === 1, "the inlet to tell");
    expect(reasons[0]).toMatchObject({ code: "PORTAL_STREAM_LIMIT", message: "The inlet carries 1 connections already (maxStreams)" });
    expect(target.connections()).toBe(1);
    first.socket.destroy();
  });
});

/** A hop that holds messages until released, then routes them on as their sender would have. */
class Gate implements Mailbox {
  readonly address = Address.parse("gate");
  readonly held: { message: LocalMessage; senderKey: string | undefined }[] = [];
  constructor(readonly router: Router) {}
  deliver(message: LocalMessage, senderKey?: string): void {
    this.held.push({ message, senderKey });
  }
  release(): void {
    for (const { message, senderKey } of this.held.splice(0)) this.router.route(message.withOnwardRoute(message.onwardRoute.popFront()), senderKey);
  }
}

describe("an answer that comes too late", () => {
  it("an inlet stream that timed out answers the outlet's late OPENED with RESET, so the outlet drops its target connection", async () => {
    let targetClosed!: Promise<void>;
    const target = await server((socket) => {
      targetClosed = new Promise((resolve) => socket.on("close", () => resolve()));
    });
    const gate = new Gate(nodes.alice.router);
    nodes.alice.router.register([gate.address], gate);
    await createOutlet(nodes.bob, { to: target.address, asConsumer: nodes.listener.flowControlId });
    const inlet = await createInlet(nodes.alice, { listen: "127.0.0.1:0", route: route("gate", nodes.channel, "outlet"), openTimeoutMs: 2_000 });
    const reasons: (string | undefined)[] = [];
    inlet.onStreamClosed((r) => reasons.push((r as { code?: string } | undefined)?.code));
    const client = await recordingClient(inlet.port);
    await within(client.closed, "the client to be reset at the open timeout");
    expect(reasons).toEqual(["PORTAL_OPEN_TIMEOUT"]);
    expect(gate.held).toHaveLength(1);
    gate.release();
    await until(() => target.connections() === 1, "the outlet to dial the target for the late OPEN");
    await within(targetClosed, "the outlet to close the target connection nobody will use");
  });
});

describe("teardown", () => {
  it("closing the secure channel closes the client's and the target's connections", async () => {
    let targetClosed!: Promise<void>;
    const target = await server((socket) => {
      targetClosed = new Promise((resolve) => socket.on("close", () => resolve()));
      socket.pipe(socket);
    });
    const { inlet, reasons } = await portal(target.address);
    const client = await recordingClient(inlet.port);
    client.socket.write("ping");
    await until(() => client.received().toString() === "ping", "the first echo");
    await nodes.channel.close();
    await within(client.closed, "the client's connection to close");
    await within(targetClosed, "the target's connection to close");
    expect(reasons).toEqual(["PORTAL_ROUTE_CLOSED"]);
  });

  it("stopping the inlet resets its clients and the outlet's target connections", async () => {
    let targetClosed!: Promise<void>;
    const target = await server((socket) => {
      targetClosed = new Promise((resolve) => socket.on("close", () => resolve()));
      socket.pipe(socket);
    });
    const { inlet } = await portal(target.address);
    const client = await recordingClient(inlet.port);
    client.socket.write("ping");
    await until(() => client.received().toString() === "ping", "the first echo");
    await inlet.stop();
    await within(client.closed, "the client's connection to close");
    await within(targetClosed, "the target's connection to close");
    const again = connect({ host: "127.0.0.1", port: inlet.port });
    const refused = await new Promise<string | undefined>((resolve) => again.on("error", (e: NodeJS.ErrnoException) => resolve(e.code)));
    expect(refused).toBe("ECONNREFUSED");
  });
});

describe("stream windows", () => {
  it("a download whose client keeps up grows its stream's window (from 16 KiB, within the inlet's budget) and gives the growth back when it ends", async () => {
    const size = 8 * 1024 * 1024;
    const body = Buffer.alloc(size, 7);
    const target = await server((socket) => socket.end(body));
    const { inlet, reasons } = await portal(target.address, { window: { windowBytes: 16 * 1024, maxWindowBytes: 1024 * 1024 } });
    const budget = inlet.windowGrowth.budgetBytes;
    let leastLeft = budget;
    const client = await recordingClient(inlet.port);
    // The inlet's stream receives the download: its window is the one that grows.
    client.socket.on("data", () => (leastLeft = Math.min(leastLeft, inlet.windowGrowth.left)));
    client.socket.end();
    await within(client.ended, "the whole download", 60_000);
    expect(client.received().equals(body)).toBe(true);
    expect(budget - leastLeft).toBeGreaterThan(16 * 1024); // grew at least once past doubling
    expect(budget - leastLeft).toBeLessThanOrEqual(1024 * 1024 - 16 * 1024); // never past maxWindowBytes
    await until(() => reasons.length === 1, "the stream to end");
    expect(inlet.windowGrowth.left).toBe(budget);
  });

  it("maxWindowBytes below windowBytes is refused; equal to it, streams keep their window", async () => {
    await expect(createOutlet(nodes.bob, { to: "127.0.0.1:1", windowBytes: 65_536, maxWindowBytes: 4096 })).rejects.toThrow(/maxWindowBytes/);
    const size = 2 * 1024 * 1024;
    const body = Buffer.alloc(size, 9);
    const target = await server((socket) => socket.end(body));
    const { inlet, reasons } = await portal(target.address, { window: { windowBytes: 16 * 1024, maxWindowBytes: 16 * 1024 } });
    let leastLeft = inlet.windowGrowth.budgetBytes;
    const client = await recordingClient(inlet.port);
    client.socket.on("data", () => (leastLeft = Math.min(leastLeft, inlet.windowGrowth.left)));
    client.socket.end();
    await within(client.ended, "the whole download", 60_000);
    expect(client.received().equals(body)).toBe(true);
    expect(leastLeft).toBe(inlet.windowGrowth.budgetBytes);
    await until(() => reasons.length === 1, "the stream to end");
  });
});

describe("options", () => {
  it("bad options throw InvalidOptionError naming the option", async () => {
    await expect(createOutlet(nodes.bob, { to: "nowhere" })).rejects.toThrow(InvalidOptionError);
    // A lone port is a target without its host (it said "has no port"), a lone host one without its port.
    await expect(createOutlet(nodes.bob, { to: "5432" })).rejects.toMatchObject({
      option: "to",
      message: 'to "5432" has no host: write "host:port", e.g. "127.0.0.1:5432"',
    });
    await expect(createOutlet(nodes.bob, { to: "nowhere" })).rejects.toThrow('to "nowhere" has no port: write "host:port", e.g. "nowhere:4000"');
    await expect(createOutlet(nodes.bob, { to: "127.0.0.1:1", allow: ["x"] })).rejects.toMatchObject({ option: "allow", message: expect.stringMatching(/^allow\[0\] "x"/) });
    await expect(createOutlet(nodes.bob, { to: "db server:5432" })).rejects.toMatchObject({
      option: "to",
      message: 'to "db server:5432" has an invalid host "db server": expected a name, an IPv4 address or a bracketed IPv6 one ("[::1]:4000")',
    });
    await expect(createOutlet(nodes.bob, { to: "127.0.0.1:1", asConsumer: [""] })).rejects.toMatchObject({
      option: "asConsumer",
      message: 'outlet options: asConsumer[0] must be a flow control id (e.g. listener.flowControlId), got ""',
    });
    await expect(createOutlet(nodes.bob, { to: "127.0.0.1:1", windowBytes: 10 })).rejects.toThrow(/windowBytes/);
    await expect(createOutlet(nodes.bob, { to: "127.0.0.1:1", windowBytes: 10 })).rejects.toMatchObject({ option: "windowBytes" });
    // One format in every package, with the key as the error's option.
    await expect(createOutlet(nodes.bob, { to: "127.0.0.1:1", bogus: 1 } as never)).rejects.toMatchObject({
      option: "bogus",
      message: 'outlet options: unknown option "bogus"; known options: address, to, allow, asConsumer, connectTimeoutMs, windowBytes, maxWindowBytes, maxStreams, maxStreamsPerChannel, maxOpensPerSecondPerChannel',
    });
    // The timeouts of the portals end in Ms, those of channels and TCP do not: a near miss is pointed to the right name.
    await expect(createOutlet(nodes.bob, { to: "127.0.0.1:1", connectTimeout: 5 } as never)).rejects.toMatchObject({
      option: "connectTimeout",
      message: expect.stringMatching(/^outlet options: unknown option "connectTimeout"; did you mean "connectTimeoutMs"\?/),
    });
    await expect(createInlet(nodes.alice, { listen: "127.0.0.1:0", route: "outlet", openTimeout: 5 } as never)).rejects.toMatchObject({
      option: "openTimeout",
      message: expect.stringMatching(/did you mean "openTimeoutMs"\?/),
    });
    await expect(createInlet(nodes.alice, { listen: "127.0.0.1:0" } as never)).rejects.toMatchObject({ option: "route", message: expect.stringMatching(/route is required/) });
    await expect(createInlet(nodes.alice, { listen: "127.0.0.1", route: "outlet" })).rejects.toThrow(/listen/);
    await expect(createInlet(nodes.alice, { listen: "127.0.0.1:0", route: "outlet", openTimeoutMs: -1 })).rejects.toThrow(/openTimeoutMs/);
  });
});
