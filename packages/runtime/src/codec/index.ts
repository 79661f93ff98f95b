export { encodeBody, decodeBody } from "./body.js";
export { encodeEnvelope, encodeEnvelopeHead, decodeEnvelope } from "./envelope.js";
