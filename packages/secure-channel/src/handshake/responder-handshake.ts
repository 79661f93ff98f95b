import { MalformedHandshakePayloadError } from "../errors.js";
import type { HandshakeAction, HandshakeEvent, HandshakeOptions, ResponderStatus } from "./types.js";
import { authenticatePeer } from "./authenticate-peer.js";
import { HandshakeMachine } from "./handshake-machine.js";
import { createIdentityPayload } from "./identity-payload.js";

/**
 * The responder side of the secure-channel handshake (Noise XX), as a state machine:
 *
 *   message 1 (-> e, empty payload)
 *                         → send message 2 (<- e, ee, s, es, our identity)
 *   message 3 (-> s, se, initiator identity)
 *                         → verify + trust the initiator, complete
 *
 * "initialize" is accepted and ignored before message 1, so a driver can treat both
 * sides alike.
 */
export class ResponderHandshake extends HandshakeMachine<Exclude<ResponderStatus, "complete" | "failed">> {
  constructor(options: HandshakeOptions) {
    super(false, options, "awaiting-message-1");
  }

  /** Handles one event in the current state; returns what the caller must do next. */
  protected async step(event: HandshakeEvent, status: ResponderStatus): Promise<readonly HandshakeAction[]> {
    if (status === "awaiting-message-1" && event.type === "initialize") return [];
    if (status === "awaiting-message-1" && event.type === "message") {
      const payload = this.noise.readMessage(event.message); // -> e
      if (payload.length !== 0) {
        throw new MalformedHandshakePayloadError(`message 1 must have an empty payload; it has ${payload.length} bytes`);
      }
      const message2 = this.noise.writeMessage(createIdentityPayload(this.identity, this.noise.localStaticPublicKey)); // <- e, ee, s, es
      this.setStatus("awaiting-message-3");
      return [{ type: "send", message: message2 }];
    }
    if (status === "awaiting-message-3" && event.type === "message") {
      const payload = this.noise.readMessage(event.message); // -> s, se
      const initiator = await authenticatePeer(payload, this.noise.remoteStaticPublicKey!, this.trustPolicy, this.provider, this.trustPolicyTimeoutMs);
      return [{ type: "complete", result: this.complete(initiator) }];
    }
    throw this.wrongState(event, status);
  }
}
