// A node or identity argument that is none is refused at the call, with an InvalidOptionError
// that names the function and the argument and says what was passed instead: nothing, the
// node and the identity swapped, an exported identity not yet imported, an identifier, a
// Promise, "a number". Before, the listener was created and the process died at its first
// handshake (TypeError at noiseStaticKeyFor), or every handshake was refused with no word why.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { InvalidOptionError, node, route, type Context, type Node, type Routed } from "@hopwire/runtime";
import { createTcpTransport, TcpConnectionOptions, TcpListenerOptions, type TcpListener } from "@hopwire/transport-tcp";
import {
  assertIdentity,
  createIdentity,
  createIdentityPayload,
  createSecureChannel,
  createSecureChannelListener,
  CryptoThreads,
  exportIdentity,
  identifierFromPublicKey,
  InitiatorHandshake,
  ResponderHandshake,
  loadIdentity,
  saveIdentity,
  SecureChannelHandshakeError,
  trustEveryone,
  type HandshakeAction,
  type Identity,
} from "@hopwire/secure-channel";

let responder: Node;
let initiator: Node;
let tcpListener: TcpListener;
let bob: Identity;

beforeEach(async () => {
  responder = await node({ name: "responder" });
  initiator = await node({ name: "initiator" });
  tcpListener = await (await createTcpTransport(responder)).listen("127.0.0.1:0", new TcpListenerOptions());
  bob = createIdentity();
});

afterEach(async () => {
  await initiator.stop();
  await responder.stop();
});

const MAKE_ONE = "createIdentity(), await loadIdentity(path) or importIdentity(data)";
const LISTENER_USAGE = "the arguments are createSecureChannelListener(node, identity, address, options?)";

/** What each wrong identity is refused with, after "createSecureChannelListener: ". */
function badIdentities(): [string, unknown, string][] {
  const exported = JSON.parse(JSON.stringify(exportIdentity(bob))) as unknown;
  return [
    ["undefined", undefined, `identity is undefined; pass an Identity: ${MAKE_ONE}`],
    ["null", null, `identity is null; pass an Identity: ${MAKE_ONE}`],
    ["the node", responder, `got a node where the identity goes; ${LISTENER_USAGE}`],
    [
      "an exported identity",
      exported,
      "identity is an exported identity (plain data, as exportIdentity() returns and identity files hold), not an Identity: pass importIdentity(data) instead",
    ],
    ["an identity's JSON", JSON.parse(JSON.stringify(bob)), `identity is an identity's JSON form ({ identifier }), which holds no key; pass the Identity itself (${MAKE_ONE})`],
    ["an identifier", bob.identifier, `identity is an identifier, which names an identity but cannot act as one; pass the Identity itself (${MAKE_ONE})`],
    ["a Promise", Promise.resolve(bob), "identity is a Promise; await it first (e.g. `await loadIdentity(path)`)"],
    ["bytes", new Uint8Array(32), "identity is bytes; a secret key becomes an Identity with identityFromSecretKey(secretKey)"],
    ["a number", 42, `identity must be an Identity (${MAKE_ONE}), got a number; ${LISTENER_USAGE}`],
    ["a string", "bob", `identity must be an Identity (${MAKE_ONE}), got a string; ${LISTENER_USAGE}`],
    ["a Map", new Map(), `identity must be an Identity (${MAKE_ONE}), got a Map; ${LISTENER_USAGE}`],
  ];
}

async function refusal(attempt: Promise<unknown> | (() => unknown)): Promise<InvalidOptionError> {
  let error: unknown;
  try {
    await (typeof attempt === "function" ? attempt() : attempt);
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(InvalidOptionError);
  return error as InvalidOptionError;
}

/** A channel from the initiator node to `listener` on the responder, over TCP, and a round trip through it. */
async function roundTrip(listener: string): Promise<string> {
  const connection = await (await createTcpTransport(initiator)).connect(tcpListener.address, new TcpConnectionOptions());
  const channel = await createSecureChannel(initiator, createIdentity(), route(connection, listener), { timeout: 20_000 });
  return initiator.sendAndReceive<string>(route(channel, "echo"), "hi");
}

describe("createSecureChannelListener checks its node and identity", () => {
  it("refuses each kind of wrong identity at the call, saying what it got, and makes no listener", async () => {
    for (const [what, identity, message] of badIdentities()) {
      const error = await refusal(createSecureChannelListener(responder, identity as Identity, "bob_listener", { consumerOf: tcpListener.flowControlId }));
      expect(error.message, what).toBe(`createSecureChannelListener: ${message}`);
      expect(error.option, what).toBe("identity");
      expect(error.code).toBe("OPTION_INVALID");
    }
    // Nothing was registered at the address: a listener with a real identity takes it and accepts a channel over TCP.
    const listener = await createSecureChannelListener(responder, bob, "bob_listener", { consumerOf: tcpListener.flowControlId });
    await responder.startWorker("echo", { handleMessage: (ctx: Context, m: Routed) => ctx.send(m.returnRoute, m.body) }, { placement: "main" });
    responder.flowControls.addConsumer("echo", listener.flowControlId);
    expect(await roundTrip("bob_listener")).toBe("hi");
  });

  it("says the node and the identity are swapped, whichever way", async () => {
    const error = await refusal(createSecureChannelListener(bob as never, responder as never, "l"));
    expect(error.message).toBe(`createSecureChannelListener: got an identity where the node goes; ${LISTENER_USAGE}`);
    expect(error.option).toBe("node");
    const other = await refusal(createSecureChannelListener(responder, responder as never, "l"));
    expect(other.message).toBe(`createSecureChannelListener: got a node where the identity goes; ${LISTENER_USAGE}`);
  });

  it("refuses what is no node: nothing, a Promise of one, a worker's context, a number", async () => {
    expect((await refusal(createSecureChannelListener(undefined as never, bob, "l"))).message).toBe(
      "createSecureChannelListener: node is undefined; pass the node (from `await node()`)",
    );
    expect((await refusal(createSecureChannelListener(Promise.resolve(responder) as never, bob, "l"))).message).toBe(
      "createSecureChannelListener: node is a Promise; await it first (`await node()`)",
    );
    expect((await refusal(createSecureChannelListener(7 as never, bob, "l"))).message).toBe(
      "createSecureChannelListener: node must be a Node (from `await node()`), got a number",
    );
    // A worker's context can start workers but is not the node: secure channels run on the node's main thread.
    let seen: unknown;
    await responder.startWorker(
      "w",
      {
        handleMessage: async (ctx: Context, m: Routed) => {
          seen = await createSecureChannelListener(ctx as never, bob, "l").catch((e: unknown) => e);
          await ctx.send(m.returnRoute, "done");
        },
      },
      { placement: "main" },
    );
    await responder.sendAndReceive("w", "go");
    expect(seen).toBeInstanceOf(InvalidOptionError);
    expect((seen as Error).message).toBe(
      "createSecureChannelListener: node is a worker's context, not the node; secure channels run on the node's main thread: pass the Node (from `await node()`)",
    );
  });
});

describe("createSecureChannel checks its node and identity", () => {
  it("refuses a missing identity with InvalidOptionError before any handshake (it was a SecureChannelHandshakeError about a weak map key)", async () => {
    const error = await refusal(createSecureChannel(initiator, undefined as never, route("nowhere")));
    expect(error).not.toBeInstanceOf(SecureChannelHandshakeError);
    expect(error.message).toBe(`createSecureChannel: identity is undefined; pass an Identity: ${MAKE_ONE}`);
    const exported = await refusal(createSecureChannel(initiator, exportIdentity(bob) as never, route("nowhere")));
    expect(exported.message).toMatch(/^createSecureChannel: identity is an exported identity .* pass importIdentity\(data\) instead$/);
  });

  it("says the node and the identity are swapped (it was a TypeError reading 'child')", async () => {
    const error = await refusal(createSecureChannel(bob as never, initiator as never, route("nowhere")));
    expect(error.message).toBe("createSecureChannel: got an identity where the node goes; the arguments are createSecureChannel(node, identity, route, options?)");
    expect(error.option).toBe("node");
  });
});

describe("the other functions that take an identity or a node", () => {
  it("CryptoThreads.forNode refuses what is no node (it was a TypeError reading 'child')", async () => {
    expect((await refusal(() => CryptoThreads.forNode(undefined as never, 1))).message).toBe("CryptoThreads.forNode: node is undefined; pass the node (from `await node()`)");
    expect((await refusal(() => CryptoThreads.forNode(bob as never, 1))).message).toBe(
      "CryptoThreads.forNode: got an identity where the node goes; the arguments are CryptoThreads.forNode(node, size)",
    );
  });

  it("exportIdentity, saveIdentity, createIdentityPayload and the handshake machines name themselves", async () => {
    expect((await refusal(() => exportIdentity(undefined as never))).message).toBe(`exportIdentity: identity is undefined; pass an Identity: ${MAKE_ONE}`);
    expect((await refusal(() => createIdentityPayload({} as never, new Uint8Array(32)))).message).toBe(
      `createIdentityPayload: identity must be an Identity (${MAKE_ONE}), got an object`,
    );
    const responderMachine = await refusal(() => new ResponderHandshake({ identity: exportIdentity(bob) as never, trustPolicy: trustEveryone() }));
    expect(responderMachine.message).toMatch(/^new ResponderHandshake: options\.identity is an exported identity /);
    expect(responderMachine.option).toBe("identity");
    expect((await refusal(() => new InitiatorHandshake({ identity: initiator as never, trustPolicy: trustEveryone() }))).message).toBe(
      "new InitiatorHandshake: got a node where options.identity goes",
    );
    expect((await refusal(() => new InitiatorHandshake(undefined as never))).message).toBe(
      "new InitiatorHandshake: options must be an object ({ identity, trustPolicy, ... })",
    );

    // saveIdentity(path, identity): refused before anything is written.
    const dir = await mkdtemp(join(tmpdir(), "hopwire-ident-"));
    try {
      const swapped = await refusal(saveIdentity(join(dir, "id.json") as never, bob as never));
      expect(swapped.message).toBe(`saveIdentity: identity must be an Identity (${MAKE_ONE}), got a string; the arguments are saveIdentity(identity, path, options?)`);
      expect(await readdir(dir)).toEqual([]);
      // A path that is no string: it was an IdentityFileError "cannot read the identity file undefined".
      for (const [path, got] of [[undefined, "undefined"], [5, "5"], [Buffer.from("x"), "a Buffer"], ["", '""']] as const) {
        const load = await refusal(loadIdentity(path as never));
        expect([load.message, load.option]).toEqual([`loadIdentity: path must be a file path string, got ${got}`, "path"]);
        expect((await refusal(saveIdentity(bob, path as never))).message).toBe(`saveIdentity: path must be a file path string, got ${got}`);
      }
      // Its options' example is one of its own keys (it said "such as { timeout: 5000 }", which it refuses).
      expect((await refusal(saveIdentity(bob, join(dir, "id.json"), 5 as never))).message).toBe("saveIdentity options must be an object such as { signal }, got 5");
      expect((await refusal(saveIdentity(bob, join(dir, "id.json"), { signal: "x" } as never))).message).toBe('saveIdentity options: signal must be an AbortSignal, got "x"');
      expect(await readdir(dir)).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("assertIdentity is the same check for other libraries, under their own names", async () => {
    expect(() => assertIdentity(bob, "mine")).not.toThrow();
    const error = await refusal(() => assertIdentity({ format: "hopwire-identity" }, { what: "startThing", argument: "options.identity" }));
    expect(error.message).toMatch(/^startThing: options\.identity is an exported identity /);
    expect(error.option).toBe("identity");
  });

  it("an Identity of another copy of the package (two versions installed) still runs a handshake; exportIdentity refuses it by name", async () => {
    const alice = createIdentity();
    // What another copy's Identity offers: its identifier, public key and sign(), no private field of this copy.
    const foreign = { identifier: alice.identifier, get publicKey() { return alice.publicKey; }, sign: (data: Uint8Array) => alice.sign(data) };
    const i = new InitiatorHandshake({ identity: foreign as never, trustPolicy: trustEveryone() });
    const r = new ResponderHandshake({ identity: bob, trustPolicy: trustEveryone() });
    const pass = async (actions: readonly HandshakeAction[], to: InitiatorHandshake | ResponderHandshake) => {
      const send = actions.find((a) => a.type === "send");
      return send?.type === "send" ? to.handle({ type: "message", message: send.message }) : [];
    };
    await pass(await pass(await pass(await i.handle({ type: "initialize" }), r), i), r);
    expect(r.result?.peerIdentifier).toBe(identifierFromPublicKey(alice.publicKey));
    expect((await refusal(() => exportIdentity(foreign as never))).message).toBe(
      "exportIdentity: identity is an Identity made by another copy of @hopwire/secure-channel (two versions are installed); use that copy's functions with it, or install one version",
    );
  });
});

describe("a node that has stopped", () => {
  it("a handshake in progress when its node stops rejects with NodeStoppedError (it was a SecureChannelHandshakeError: the secure channel is closed)", async () => {
    const n = await node();
    try {
      await n.startWorker("black_hole", { handleMessage() {} }, { placement: "main" });
      const pending = createSecureChannel(n, await createIdentity(), route("black_hole")).catch((e: unknown) => e);
      await n.stop();
      expect(await pending).toMatchObject({ code: "NODE_STOPPED", message: "The node stopped during the secure channel handshake" });
    } finally {
      await n.stop();
    }
  });

  it("createSecureChannel and createSecureChannelListener reject with NodeStoppedError, as the node's own calls do", async () => {
    const stopped = await node();
    const identity = await createIdentity();
    await stopped.stop();
    // Before, the handshake was tried and failed as a SecureChannelHandshakeError about an unknown address.
    await expect(createSecureChannel(stopped, identity, route("listener"))).rejects.toMatchObject({
      code: "NODE_STOPPED",
      message: "createSecureChannel: the node has stopped",
    });
    await expect(createSecureChannelListener(stopped, identity, "listener")).rejects.toMatchObject({
      code: "NODE_STOPPED",
      message: "createSecureChannelListener: the node has stopped",
    });
  });
});
