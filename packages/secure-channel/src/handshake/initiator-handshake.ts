import type { HandshakeAction, HandshakeEvent, HandshakeOptions, InitiatorStatus } from "./types.js";
import { authenticatePeer } from "./authenticate-peer.js";
import { HandshakeMachine } from "./handshake-machine.js";
import { createIdentityPayload } from "./identity-payload.js";

const EMPTY = new Uint8Array(0);

/**
 * The initiator side of the secure-channel handshake (Noise XX), as a state machine:
 *
 *   initialize            → send message 1 (-> e, empty payload)
 *   message 2 (<- e, ee, s, es, responder identity)
 *                         → verify + trust the responder, send message 3
 *                           (-> s, se, our identity), complete
 *
 * The initiator reveals its identity only after it has authenticated and trusted the
 * responder.
 */
export class InitiatorHandshake extends HandshakeMachine<Exclude<InitiatorStatus, "complete" | "failed">> {
  constructor(options: HandshakeOptions) {
    super(true, options, "idle");
  }

  /** Handles one event in the current state; returns what the caller must do next. */
  protected async step(event: HandshakeEvent, status: InitiatorStatus): Promise<readonly HandshakeAction[]> {
    if (status === "idle" && event.type === "initialize") {
      const message1 = this.noise.writeMessage(EMPTY); // -> e
      this.setStatus("awaiting-message-2");
      return [{ type: "send", message: message1 }];
    }
    if (status === "awaiting-message-2" && event.type === "message") {
      const payload = this.noise.readMessage(event.message); // <- e, ee, s, es
      const responder = await authenticatePeer(payload, this.noise.remoteStaticPublicKey!, this.trustPolicy, this.provider, this.trustPolicyTimeoutMs);
      const message3 = this.noise.writeMessage(createIdentityPayload(this.identity, this.noise.localStaticPublicKey)); // -> s, se
      const result = this.complete(responder);
      return [
        { type: "send", message: message3 },
        { type: "complete", result },
      ];
    }
    throw this.wrongState(event, status);
  }
}
