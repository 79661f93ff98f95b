export { encodeBody, decodeBody, DEFAULT_MAX_DECODED_BODY_BYTES, type DecodeBodyOptions, lentBytesMessage, bytesBodyLength, writeBytesBody } from "./body.js";
export { keptHeadCost, MAX_KEPT_HEAD_BYTES, type KeptHeadsBudget } from "./recent-heads.js";
export { forEachRepeatedPayload, REPEATED_HEAD, REPEATED_HEAD_PAYLOADS, repeatedHeadWord } from "./repeated-head.js";
export {
  encodeEnvelope,
  encodeEnvelopeHead,
  envelopeHeadBound,
  writeEnvelopeHead,
  MAX_NETWORK_HEAD_BYTES,
  decodeEnvelope,
  decodeEnvelopeHead,
  EnvelopeHeadDecoder,
  type EnvelopeHead,
  type EnvelopeScope,
} from "./envelope.js";
