export { encodeBody, decodeBody } from "./body.js";
export { REPEATED_HEAD, repeatedHeadWord } from "./repeated-head.js";
export {
  encodeEnvelope,
  encodeEnvelopeHead,
  envelopeHeadBound,
  writeEnvelopeHead,
  decodeEnvelope,
  decodeEnvelopeHead,
  EnvelopeHeadDecoder,
  type EnvelopeHead,
  type EnvelopeScope,
} from "./envelope.js";
