export { encodeBody, decodeBody } from "./body.js";
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
