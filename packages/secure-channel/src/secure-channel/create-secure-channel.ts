import { AbortError, FlowControls, NodeStoppedError, route, TimeoutError, type Node, type RouteLike } from "@hopwire/runtime";
import { InitiatorHandshake } from "../handshake/initiator-handshake.js";
import type { HandshakeAction, HandshakeResult } from "../handshake/types.js";
import { assertIdentity } from "../identity/identity-argument.js";
import type { Identity } from "../identity/identity.js";
import { OuterKind } from "./channel-message.js";
import { ChannelEnd } from "./channel-end.js";
import { HANDSHAKE_NODE_STOPPED, refusalReasonOf, SecureChannelHandshakeError, SecureChannelRefusedError } from "./channel-errors.js";
import { trackChannelEnd } from "./channel-registry.js";
import { assertRunningNode } from "./node-argument.js";
import { noiseStaticKeyFor } from "./noise-static-key.js";
import { SecureChannel } from "./secure-channel.js";
import { toSecureChannelOptions, type SecureChannelOptionsInit } from "./plain-options.js";
import type { SecureChannelOptions } from "./secure-channel-options.js";
import { startCryptoThreadsFor } from "../crypto-threads/crypto-threads.js";

/** How createSecureChannel names itself in argument errors. */
const CREATE_SECURE_CHANNEL = { what: "createSecureChannel", usage: "createSecureChannel(node, identity, route, options?)" } as const;

/**
 * Initiates a secure channel with the listener at the end of `to` and resolves once the
 * responder has authenticated and trusted us (it confirms inside the channel), so a
 * refusal is an error here, not a silent drop later. Options are a SecureChannelOptions or
 * a plain object (SecureChannelOptionsInit: `{ trustPolicy, timeout, signal, ... }`).
 * A `node` or `identity` that is none (missing, swapped, an exported identity not yet
 * imported) rejects with InvalidOptionError before anything is sent.
 */
export async function createSecureChannel(
  node: Node,
  identity: Identity,
  to: RouteLike,
  given?: SecureChannelOptions | SecureChannelOptionsInit,
): Promise<SecureChannel> {
  assertRunningNode(node, CREATE_SECURE_CHANNEL);
  assertIdentity(identity, CREATE_SECURE_CHANNEL);
  const options = toSecureChannelOptions(given);
  // A first channel's crypto threads start before its handshake's clock runs, not within it.
  await startCryptoThreadsFor(node, options);
  const end = new ChannelEnd(node, "initiator", options, FlowControls.generateId(), route(to));
  trackChannelEnd(node, end);
  let handshake: InitiatorHandshake | undefined;
  try {
    handshake = new InitiatorHandshake({
      identity,
      trustPolicy: options.trustPolicy,
      trustPolicyTimeoutMs: options.handshakeTimeout,
      provider: options.provider,
      noiseStaticKeyPair: noiseStaticKeyFor(identity, options.provider),
    });
    sendAll(end, await handshake.handle({ type: "initialize" })); // -> e
    const message2 = await end.nextHandshakeMessage(options.signal);
    refuseIfRefused(message2.payload);
    end.remoteRoute = message2.returnRoute; // the responder's own channel address, via the same hops
    const result = completeWith(end, await handshake.handle({ type: "message", message: message2.payload.subarray(1) }));
    end.establish(result);
    const confirmation = await end.waitForConfirm(options.signal);
    if (confirmation !== "confirmed") refuseIfRefused(confirmation.payload);
    return new SecureChannel(end);
  } catch (error) {
    handshake?.dispose(); // its key copies are wiped now, whatever stopped it
    if (!(error instanceof SecureChannelRefusedError)) tellResponder(end, error);
    end.close(error instanceof Error ? error : undefined, false);
    // Whatever failed first (its end closed by the node's stop, the first hop gone with the
    // node's workers), the node stopping is the reason, as the node's own calls report it.
    if (node.stopped) throw error instanceof NodeStoppedError ? error : new NodeStoppedError(HANDSHAKE_NODE_STOPPED, { cause: error });
    throw asChannelError(error);
  }
}

/** Lets a waiting responder drop its half-open end now rather than at its timeout. */
function tellResponder(end: ChannelEnd, error: unknown): void {
  const code = (error as { code?: unknown }).code;
  try {
    end.sendOuter(OuterKind.REFUSED, new TextEncoder().encode(typeof code === "string" ? code : "HANDSHAKE_FAILED"));
  } catch {
    // the route is gone: nothing to tell
  }
}

/** Timeouts, aborts and refusals keep their class; anything else says the handshake failed. */
function asChannelError(error: unknown): unknown {
  if (error instanceof SecureChannelRefusedError || error instanceof TimeoutError || error instanceof AbortError) return error;
  return new SecureChannelHandshakeError(`Could not establish a secure channel: ${(error as Error).message}`, { cause: error });
}

function sendAll(end: ChannelEnd, actions: readonly HandshakeAction[]): void {
  for (const action of actions) if (action.type === "send") end.sendOuter(OuterKind.HANDSHAKE, action.message);
}

function completeWith(end: ChannelEnd, actions: readonly HandshakeAction[]): HandshakeResult {
  sendAll(end, actions);
  const done = actions.find((a) => a.type === "complete");
  if (!done || done.type !== "complete") throw new SecureChannelHandshakeError("The handshake did not complete");
  return done.result;
}

function refuseIfRefused(payload: Uint8Array): void {
  if (payload[0] === OuterKind.REFUSED) {
    const reason = refusalReasonOf(payload.subarray(1));
    throw new SecureChannelRefusedError(`The responder refused the secure channel (${reason})`, { reason });
  }
  if (payload[0] !== OuterKind.HANDSHAKE) throw new SecureChannelHandshakeError("Expected a handshake message");
}
