export { encodeBody, decodeBody } from "./body.js";
export { encodeEnvelope, encodeEnvelopeHead, envelopeHeadBound, writeEnvelopeHead, decodeEnvelope } from "./envelope.js";
