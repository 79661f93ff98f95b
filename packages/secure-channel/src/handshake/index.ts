export { HANDSHAKE_PROLOGUE, HANDSHAKE_PROTOCOL_NAME, IDENTITY_SIGNATURE_DOMAIN } from "./constants.js";
export {
  createIdentityPayload,
  decodeIdentityPayload,
  encodeIdentityPayload,
  IDENTITY_PAYLOAD_LENGTH,
  IDENTITY_PAYLOAD_VERSION,
  identitySignedData,
  verifyIdentityPayload,
  type IdentityPayload,
} from "./identity-payload.js";
export { InitiatorHandshake } from "./initiator-handshake.js";
export { ResponderHandshake } from "./responder-handshake.js";
export type {
  HandshakeAction,
  HandshakeEvent,
  HandshakeOptions,
  HandshakeResult,
  InitiatorStatus,
  ResponderStatus,
} from "./types.js";
