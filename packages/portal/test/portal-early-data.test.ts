// Early data (docs/portals.md, "Early data"): an inlet stream sends its client's first bytes
// right behind OPEN_EARLY, before the outlet answered, once it knows the outlet takes them;
// it learns that from its first stream's OPEN_EARLY, and falls back to OPEN with an outlet
// from before early data. Real nodes, a real secure channel over real TCP, real sockets.
import { describe, expect, it, onTestFinished } from "vitest";
import { randomBytes } from "node:crypto";
import { Address, LocalMessage, route, type Mailbox, type Route } from "@hopwire/runtime";
import { createInlet, createOutlet, EARLY_DATA_BYTES, type Inlet, type Outlet } from "@hopwire/portal";
import { Outlet as OutletClass } from "../dist/outlet/outlet.js";
import { encodeCredit, encodeOpened, encodeReset, KIND, kindOf } from "../dist/protocol/index.js";
import { portalNodesForEachTest, type PortalNodes } from "./support/nodes.js";
import { recordingClient, startRawServer, until, within, type RawServer } from "./support/tcp.js";

let nodes: PortalNodes;
const servers: RawServer[] = [];
portalNodesForEachTest((n) => (nodes = n), servers);

/** A target that answers every connection with "banner:", then "got:" and all it read once the client half-closed. */
async function bannerTarget(): Promise<RawServer> {
  const s = await startRawServer((socket) => {
    socket.write("banner:");
    let text = "";
    socket.on("data", (d: Buffer) => (text += d.toString("latin1")));
    socket.on("end", () => socket.end(`got:${text}`));
  });
  servers.push(s);
  return s;
}

/** A target that echoes everything, and ends when its client did. */
async function echoTarget(): Promise<RawServer> {
  const s = await startRawServer((socket) => {
    socket.on("data", (d: Buffer) => socket.write(d));
    socket.on("end", () => socket.end());
  });
  servers.push(s);
  return s;
}

async function portal(to: string, inletAddress = "outlet", earlyData?: boolean): Promise<{ inlet: Inlet; outlet: Outlet; reasons: (string | undefined)[] }> {
  const outlet = await createOutlet(nodes.bob, { to, asConsumer: nodes.listener.flowControlId });
  const inlet = await createInlet(nodes.alice, { listen: "127.0.0.1:0", route: route(nodes.channel, inletAddress), ...(earlyData === undefined ? {} : { earlyData }) });
  const reasons: (string | undefined)[] = [];
  inlet.onStreamClosed((reason) => reasons.push(reason?.code));
  return { inlet, outlet, reasons };
}

/**
 * Records the kind of every message the outlet itself is handed (OPEN, OPEN_EARLY, early DATA)
 * and the early DATA bytes. With `holdOpenEarly(kind)`, an OPEN_EARLY and whatever follows it
 * wait, unread, until a message of `kind` has come behind it (then all go on, in order): bob's
 * node as slow as can be to answer, so that message was sent before any OPENED could have been.
 */
function watchOutlet(): { kinds: number[]; earlyBytes: () => number; holdOpenEarly: (until: number) => void } {
  const kinds: number[] = [];
  let earlyBytes = 0;
  let releaseOn: number | undefined;
  let held: { message: LocalMessage; senderKey: string | undefined }[] | undefined;
  const deliver = OutletClass.prototype.deliver;
  OutletClass.prototype.deliver = function (this: OutletClass, message: LocalMessage, senderKey?: string) {
    const kind = kindOf(message)!;
    kinds.push(kind);
    if (kind === KIND.DATA) earlyBytes += message.payloadLength - 1;
    if (releaseOn !== undefined && kind === KIND.OPEN_EARLY && held === undefined) held = [];
    if (held === undefined) return deliver.call(this, message, senderKey);
    held.push({ message, senderKey });
    if (kind !== releaseOn) return;
    const queue = held;
    held = undefined;
    releaseOn = undefined;
    for (const h of queue) deliver.call(this, h.message, h.senderKey);
  };
  onTestFinished(() => void (OutletClass.prototype.deliver = deliver));
  return { kinds, earlyBytes: () => earlyBytes, holdOpenEarly: (until) => void (releaseOn = until) };
}

describe("early data with an outlet that takes it", () => {
  it("a client that resets before OPENED: the inlet stream tells the outlet (RESET behind OPEN_EARLY), which drops the early bytes it has not written", async () => {
    const watch = watchOutlet();
    const targetBytes: Buffer[] = [];
    const target = await startRawServer((socket) => {
      socket.on("data", (d: Buffer) => targetBytes.push(d));
      socket.on("end", () => socket.end());
    });
    servers.push(target);
    const { inlet, outlet } = await portal(target.address);
    const outletReasons: (string | undefined)[] = [];
    outlet.onStreamClosed((reason) => outletReasons.push(reason?.code));
    const learn = await recordingClient(inlet.port);
    await until(() => inlet.earlyData === true, "the first stream's OPENED");
    learn.socket.destroy();
    await until(() => outletReasons.length === 1, "the first stream to end at the outlet");

    // The OPEN_EARLY waits at the outlet until the RESET behind it came: the client went away before any OPENED.
    watch.holdOpenEarly(KIND.RESET);
    const doomed = await recordingClient(inlet.port);
    doomed.socket.write("doomed");
    await until(() => watch.kinds.at(-1) === KIND.DATA, "the early DATA at bob's node");
    doomed.socket.resetAndDestroy();
    await until(() => outletReasons.length === 2, "the outlet's stream to end");
    expect(outletReasons[1]).toBe("PORTAL_RESET");
    expect(watch.kinds.slice(-3)).toEqual([KIND.OPEN_EARLY, KIND.DATA, KIND.RESET]);
    expect(Buffer.concat(targetBytes).toString()).toBe(""); // its socket was closed before it connected
    expect(outlet.activeStreams).toBe(0);
  });

  it("the first stream asks with OPEN_EARLY alone; later ones send the client's first bytes (at most 64 KiB) before the outlet answered, intact and in order", async () => {
    const watch = watchOutlet();
    const target = await echoTarget();
    const { inlet, reasons } = await portal(target.address);
    expect(inlet.earlyData).toBeUndefined();

    const first = await recordingClient(inlet.port);
    first.socket.write("first");
    await until(() => first.received().toString() === "first", "the first echo");
    expect(inlet.earlyData).toBe(true);
    expect(watch.kinds).toEqual([KIND.OPEN_EARLY]); // a probe: no DATA behind it

    // 200 KiB written at once: 64 KiB at most go early, the rest once OPENED came; the echo is byte-identical.
    watch.holdOpenEarly(KIND.DATA);
    const bytes = randomBytes(200 * 1024);
    const second = await recordingClient(inlet.port);
    second.socket.write(bytes);
    await until(() => second.received().length === bytes.length, "the 200 KiB echo");
    expect(second.received().equals(bytes)).toBe(true);
    expect(watch.kinds.slice(0, 2)).toEqual([KIND.OPEN_EARLY, KIND.OPEN_EARLY]);
    expect(watch.kinds.slice(2).every((kind) => kind === KIND.DATA)).toBe(true);
    expect(watch.earlyBytes()).toBeGreaterThan(0);
    expect(watch.earlyBytes()).toBeLessThanOrEqual(EARLY_DATA_BYTES);

    first.socket.end();
    second.socket.end();
    await until(() => reasons.length === 2, "both streams to end");
    expect(reasons).toEqual([undefined, undefined]);
  });

  it("a server that speaks first, a client that half-closes at once: both work on streams that opened with early data", async () => {
    const watch = watchOutlet();
    const target = await bannerTarget();
    const { inlet, reasons } = await portal(target.address);
    const learn = await recordingClient(inlet.port);
    learn.socket.end("a");
    await within(learn.ended, "the first answer");
    expect(learn.received().toString()).toBe("banner:got:a");
    expect(inlet.earlyData).toBe(true);

    // The client sends nothing until the server spoke: OPEN_EARLY with nothing behind it yet, the socket read on.
    const quiet = await recordingClient(inlet.port);
    await until(() => quiet.received().toString() === "banner:", "the server's banner before the client sent anything");
    expect(watch.kinds).toEqual([KIND.OPEN_EARLY, KIND.OPEN_EARLY]);
    quiet.socket.end("b");
    await within(quiet.ended, "the answer to the quiet client");
    expect(quiet.received().toString()).toBe("banner:got:b");

    // Bytes and FIN at once: the bytes go early, the FIN (END) waits for OPENED.
    watch.holdOpenEarly(KIND.DATA);
    const hasty = await recordingClient(inlet.port);
    hasty.socket.end("c");
    await within(hasty.ended, "the answer to the hasty client");
    expect(hasty.received().toString()).toBe("banner:got:c");
    expect(watch.kinds.filter((kind) => kind === KIND.DATA).length).toBeGreaterThan(0);

    await until(() => reasons.length === 3, "the three streams to end");
    expect(reasons).toEqual([undefined, undefined, undefined]);
  });

  it("a target that went down: the early bytes are dropped with the stream, the client is reset, the outlet counts one refusal", async () => {
    const watch = watchOutlet();
    const target = await echoTarget();
    const { inlet, outlet, reasons } = await portal(target.address);
    const learn = await recordingClient(inlet.port);
    learn.socket.write("up");
    await until(() => learn.received().toString() === "up", "the echo while the target is up");
    expect(inlet.earlyData).toBe(true);
    learn.socket.end();
    await until(() => reasons.length === 1, "the first stream to end");
    await servers.pop()!.close();

    const late = await recordingClient(inlet.port);
    late.socket.write(Buffer.alloc(32 * 1024, 1));
    const error = await within(late.closed, "the client's reset");
    expect(error?.code).toBe("ECONNRESET");
    await until(() => reasons.length === 2, "the second stream to end");
    expect(reasons[1]).toBe("PORTAL_TARGET_UNREACHABLE");
    expect(watch.kinds.filter((kind) => kind === KIND.DATA).length).toBeGreaterThan(0); // its bytes did go early
    expect(outlet.refusedStreams).toBe(1);
    expect(outlet.activeStreams).toBe(0);
    expect(inlet.earlyData).toBe(true); // a refusal for the target's sake says nothing about early data
  });
});

/**
 * An outlet as it was before early data, in front of a real one: it refuses anything but OPEN
 * with RESET PORTAL_PROTOCOL from its own address, as that outlet's code did, and hands each
 * OPEN to the real outlet (with the sender's key, so flow controls hold as they would). With
 * `takesEarlyData` it hands everything on: the outlet as it is now (then "replaced" by the old).
 */
class OlderOutlet implements Mailbox {
  readonly address = Address.parse("older_outlet");
  readonly kinds: number[] = [];
  takesEarlyData = false;
  constructor(private readonly outlet: Outlet) {}

  deliver(message: LocalMessage, senderKey?: string): void {
    const kind = kindOf(message)!;
    this.kinds.push(kind);
    if (kind === KIND.OPEN || this.takesEarlyData) return this.outlet.deliver(message, senderKey);
    nodes.bob.router.route(new LocalMessage(message.returnRoute, route(this.address), encodeReset("PORTAL_PROTOCOL")), this.address.key);
  }
}

async function olderOutlet(target: RawServer): Promise<{ inlet: Inlet; outlet: Outlet; older: OlderOutlet; reasons: (string | undefined)[] }> {
  const made = await portal(target.address, "older_outlet");
  const older = new OlderOutlet(made.outlet);
  nodes.bob.router.register([older.address], older);
  nodes.bob.flowControls.addConsumer(older.address, nodes.listener.flowControlId);
  return { ...made, older };
}

async function echoOf(inlet: Inlet, text: string): Promise<void> {
  const client = await recordingClient(inlet.port);
  client.socket.write(text);
  await until(() => client.received().toString() === text, `the echo of "${text}"`);
  client.socket.end();
}

describe("early data with an outlet from before it", () => {
  it("the first stream's OPEN_EARLY is refused, it asks again with OPEN and works; the inlet's later streams open with OPEN", async () => {
    const { inlet, outlet, older, reasons } = await olderOutlet(await echoTarget());
    for (const text of ["one", "two", "three"]) await echoOf(inlet, text);
    expect(inlet.earlyData).toBe(false);
    expect(older.kinds).toEqual([KIND.OPEN_EARLY, KIND.OPEN, KIND.OPEN, KIND.OPEN]);
    await until(() => reasons.length === 3, "the three streams to end");
    expect(reasons).toEqual([undefined, undefined, undefined]);
    expect(outlet.openedStreams).toBe(3);
  });

  it("streams that probe at once each fall back on their own, and all work", async () => {
    const { inlet, older } = await olderOutlet(await echoTarget());
    await Promise.all(["one", "two", "three"].map((text) => echoOf(inlet, text)));
    expect(inlet.earlyData).toBe(false);
    expect(older.kinds.filter((kind) => kind === KIND.OPEN_EARLY).length).toBe(3);
    expect(older.kinds.filter((kind) => kind === KIND.OPEN).length).toBe(3);
  });

  it("an outlet replaced by an older one: the stream whose early data it refused is reset, the next asks again and falls back", async () => {
    const { inlet, older, reasons } = await olderOutlet(await echoTarget());
    older.takesEarlyData = true;
    await echoOf(inlet, "one");
    expect(inlet.earlyData).toBe(true);
    await until(() => reasons.length === 1, "the first stream to end");
    older.takesEarlyData = false;
    const lost = await recordingClient(inlet.port);
    lost.socket.write("two");
    expect((await within(lost.closed, "the client whose early data was refused to be reset"))?.code).toBe("ECONNRESET");
    await until(() => reasons.length === 2, "the second stream to end");
    expect(reasons[1]).toBe("PORTAL_PROTOCOL");
    expect(inlet.earlyData).toBeUndefined();
    await echoOf(inlet, "three");
    expect(inlet.earlyData).toBe(false);
    expect(older.kinds.slice(-2)).toEqual([KIND.OPEN_EARLY, KIND.OPEN]);
  });

  it("earlyData: false opens every stream with OPEN, even to an outlet that takes early data", async () => {
    const watch = watchOutlet();
    const target = await echoTarget();
    const { inlet } = await portal(target.address, "outlet", false);
    expect(inlet.earlyData).toBe(false);
    for (const text of ["one", "two"]) {
      const client = await recordingClient(inlet.port);
      client.socket.write(text);
      await until(() => client.received().toString() === text, `the echo of "${text}"`);
      client.socket.destroy();
    }
    expect(watch.kinds).toEqual([KIND.OPEN, KIND.OPEN]);
    await expect(createInlet(nodes.alice, { listen: "127.0.0.1:0", route: "outlet", earlyData: "yes" as unknown as boolean })).rejects.toMatchObject({
      option: "earlyData",
      message: 'earlyData must be true or false, got "yes"',
    });
  });
});

/**
 * An outlet by hand, at "raw_outlet" on bob: it answers each OPEN_EARLY with OPENED granting
 * `window` from a stream address of its own (at once, or once DATA came behind it: then the
 * inlet stream has spent some of its early data for sure), never returns credit, and counts
 * the DATA bytes that reach it and its streams, and the BLOCKEDs.
 */
class HandOutlet implements Mailbox {
  readonly address = Address.parse("raw_outlet");
  answerAfterData = false;
  /** Sends a CREDIT before OPENED, as no outlet may. */
  creditFirst = false;
  earlyBytes = 0;
  laterBytes = 0;
  blocked = 0;
  #waiting: Route | undefined;

  constructor(private readonly window: number) {}

  deliver(message: LocalMessage): void {
    const kind = kindOf(message);
    if (kind === KIND.OPEN_EARLY) {
      if (this.answerAfterData) this.#waiting = message.returnRoute;
      else this.#answer(message.returnRoute);
    } else if (kind === KIND.DATA) {
      this.earlyBytes += message.payloadLength - 1;
      if (this.#waiting !== undefined) this.#answer(this.#waiting);
      this.#waiting = undefined;
    }
  }

  #answer(inletStream: Route): void {
    if (this.creditFirst) nodes.bob.router.route(new LocalMessage(inletStream, route(this.address), encodeCredit(this.window)), this.address.key);
    const stream: Mailbox & { address: Address } = {
      address: Address.random(),
      deliver: (message: LocalMessage) => {
        const kind = kindOf(message);
        if (kind === KIND.DATA) this.laterBytes += message.payloadLength - 1;
        if (kind === KIND.BLOCKED) this.blocked++;
      },
    };
    nodes.bob.router.register([stream.address], stream);
    nodes.bob.flowControls.addConsumer(stream.address, nodes.listener.flowControlId);
    nodes.bob.router.route(new LocalMessage(inletStream, route(stream.address), encodeOpened(this.window)), stream.address.key);
  }
}

describe("early data and credit", () => {
  it("the bytes an inlet stream sent before OPENED count against the window OPENED grants: it sends exactly that window, then BLOCKED", async () => {
    const window = 100 * 1024;
    const outlet = new HandOutlet(window);
    nodes.bob.router.register([outlet.address], outlet);
    nodes.bob.flowControls.addConsumer(outlet.address, nodes.listener.flowControlId);
    const inlet = await createInlet(nodes.alice, { listen: "127.0.0.1:0", route: route(nodes.channel, "raw_outlet") });

    const probe = await recordingClient(inlet.port);
    await until(() => inlet.earlyData === true, "the probe's OPENED");
    probe.socket.destroy();

    outlet.answerAfterData = true;
    const client = await recordingClient(inlet.port);
    client.socket.write(randomBytes(3 * window));
    await until(() => outlet.blocked === 1, "the inlet stream's BLOCKED once the window was spent");
    expect(outlet.earlyBytes).toBeGreaterThan(0);
    expect(outlet.earlyBytes).toBeLessThanOrEqual(EARLY_DATA_BYTES);
    expect(outlet.laterBytes).toBeGreaterThan(0);
    expect(outlet.earlyBytes + outlet.laterBytes).toBe(window);
    client.socket.destroy();
  });
});

describe("before OPENED", () => {
  it("a CREDIT before OPENED resets the inlet stream (PORTAL_PROTOCOL) and sends nothing early on it", async () => {
    const outlet = new HandOutlet(100 * 1024);
    outlet.creditFirst = true;
    nodes.bob.router.register([outlet.address], outlet);
    nodes.bob.flowControls.addConsumer(outlet.address, nodes.listener.flowControlId);
    const inlet = await createInlet(nodes.alice, { listen: "127.0.0.1:0", route: route(nodes.channel, "raw_outlet") });
    const reasons: (string | undefined)[] = [];
    inlet.onStreamClosed((reason) => reasons.push(reason?.code));
    const client = await recordingClient(inlet.port);
    client.socket.write(randomBytes(1024));
    expect((await within(client.closed, "the client's reset"))?.code).toBe("ECONNRESET");
    expect(reasons).toEqual(["PORTAL_PROTOCOL"]);
    expect(outlet.earlyBytes + outlet.laterBytes).toBe(0);
  });
});
