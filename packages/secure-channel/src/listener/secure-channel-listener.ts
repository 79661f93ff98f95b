import {
  FlowControls,
  toAddress,
  type Address,
  type AddressLike,
  type FlowControlId,
  type LocalMessage,
  type Logger,
  type Mailbox,
  type Node,
} from "@hopwire/runtime";
import { ResponderHandshake } from "../handshake/responder-handshake.js";
import type { HandshakeAction } from "../handshake/types.js";
import type { Identity } from "../identity/identity.js";
import { ChannelEnd } from "../secure-channel/channel-end.js";
import { OuterKind } from "../secure-channel/channel-message.js";
import { noiseStaticKeyFor } from "../secure-channel/noise-static-key.js";
import { SecureChannelHandshakeError } from "../secure-channel/channel-errors.js";
import { SecureChannel } from "../secure-channel/secure-channel.js";
import { trackChannelEnd } from "../secure-channel/channel-registry.js";
import { SecureChannelListenerOptions } from "../secure-channel/secure-channel-options.js";

/** Handshakes a listener runs at once; more first messages are dropped until some finish. */
export const MAX_PENDING_HANDSHAKES = 4096;

/**
 * Waits for handshakes at its address and spawns one responder channel end per initiator.
 * It is a flow-control spawner: messages decrypted by its channels are produced under
 * ids spawned from `flowControlId`, so `flowControls.addConsumer(worker, listener.flowControlId)`
 * makes a worker reachable through every channel it accepts.
 */
export class SecureChannelListener implements Mailbox {
  readonly address: Address;
  readonly flowControlId: FlowControlId = FlowControls.generateId();
  readonly #node: Node;
  readonly #identity: Identity;
  readonly #options: SecureChannelListenerOptions;
  readonly #log: Logger;
  readonly #ends = new Set<ChannelEnd>();
  #stopped = false;
  #pendingHandshakes = 0;

  /** @internal use createSecureChannelListener */
  constructor(node: Node, identity: Identity, address: Address, options: SecureChannelListenerOptions) {
    this.#node = node;
    this.#identity = identity;
    this.address = address;
    this.#options = options;
    this.#log = node.log.child("secure-channel");
  }

  /** Channels this listener accepted that are still open or handshaking. */
  get channelCount(): number {
    return this.#ends.size;
  }

  /** The open channels this listener accepted, as seen from this (the responder's) end. */
  get channels(): SecureChannel[] {
    return [...this.#ends].filter((e) => e.state === "open").map((e) => new SecureChannel(e));
  }

  deliver(message: LocalMessage): void {
    if (this.#stopped) return;
    if (message.payload[0] !== OuterKind.HANDSHAKE) {
      this.#log.debug("listener dropped a message that is not a handshake");
      return;
    }
    // Half-open handshakes hold state until their timeout: bound them, so a flood of first
    // messages costs a bounded amount of memory.
    if (this.#pendingHandshakes >= MAX_PENDING_HANDSHAKES) {
      this.#log.warn(`listener ${this.address.toString()} dropped a handshake: ${MAX_PENDING_HANDSHAKES} already pending`);
      return;
    }
    this.#pendingHandshakes++;
    void this.#respond(message).finally(() => this.#pendingHandshakes--);
  }

  async #respond(message1: LocalMessage): Promise<void> {
    const node = this.#node;
    const options = this.#options;
    const end = new ChannelEnd(node, "responder", options, FlowControls.generateId(), message1.returnRoute);
    for (const id of options.consumerOf) node.flowControls.addConsumer(end.remoteAddress, id);
    trackChannelEnd(node, end);
    this.#ends.add(end);
    end.onClosed((e) => this.#ends.delete(e));
    const handshake = new ResponderHandshake({
      identity: this.#identity,
      trustPolicy: options.trustPolicy,
      provider: options.provider,
      noiseStaticKeyPair: noiseStaticKeyFor(this.#identity, options.provider),
    });
    try {
      sendAll(end, await handshake.handle({ type: "message", message: message1.payload.subarray(1) })); // <- e, ee, s, es
      const message3 = await end.nextHandshakeMessage();
      if (message3.payload[0] !== OuterKind.HANDSHAKE) throw new SecureChannelHandshakeError("the initiator gave up the handshake");
      const actions = await handshake.handle({ type: "message", message: message3.payload.subarray(1) }); // -> s, se
      const done = actions.find((a) => a.type === "complete");
      if (!done || done.type !== "complete") throw new SecureChannelHandshakeError("the handshake did not complete");
      end.establish(done.result);
      end.open(this.flowControlId);
      this.#log.debug(`accepted a secure channel from ${done.result.peerIdentifier}`);
    } catch (error) {
      handshake.dispose(); // its key copies are wiped now, whatever stopped it
      const code = (error as { code?: unknown }).code;
      this.#log.debug("refused a secure channel", error);
      try {
        if (end.state === "handshaking") end.sendOuter(OuterKind.REFUSED, new TextEncoder().encode(typeof code === "string" ? code : "HANDSHAKE_FAILED"));
      } catch {
        // the route back is gone; nothing to tell
      }
      end.close(error instanceof Error ? error : undefined, false);
    }
  }

  /** Stops accepting handshakes and closes every channel this listener accepted. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#node.router.unregister([this.address]);
    for (const end of [...this.#ends]) end.close();
  }
}

function sendAll(end: ChannelEnd, actions: readonly HandshakeAction[]): void {
  for (const action of actions) if (action.type === "send") end.sendOuter(OuterKind.HANDSHAKE, action.message);
}

/** Starts a secure channel listener at `address` (e.g. "bob_listener"). */
export async function createSecureChannelListener(
  node: Node,
  identity: Identity,
  address: AddressLike,
  options: SecureChannelListenerOptions = new SecureChannelListenerOptions(),
): Promise<SecureChannelListener> {
  const listener = new SecureChannelListener(node, identity, toAddress(address), options);
  node.router.register([listener.address], listener);
  node.flowControls.addSpawner(listener.address, listener.flowControlId);
  for (const id of options.consumerOf) node.flowControls.addConsumer(listener.address, id);
  node.onStop(() => listener.stop());
  return listener;
}
