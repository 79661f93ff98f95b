/**
 * What travels between the two ends of a channel, as the payload of a routed message:
 *   HANDSHAKE  kind byte, then a Noise handshake message
 *   TRANSPORT  kind byte, then an 8-byte big-endian nonce and the AEAD output
 *   REFUSED    kind byte, then a UTF-8 error code: the responder refused the handshake
 * Inside a TRANSPORT message, the plaintext starts with its own kind byte:
 *   MESSAGE    then a network envelope [onwardRoute, returnRoute, payload] for the far side
 *   CONFIRM    the responder authenticated and trusted the initiator: the channel is open
 *   CLOSE      the sender closed the channel
 *   MESSAGES   then several network envelopes, each preceded by its u32 big-endian length:
 *              small messages sent in one event-loop turn share one AEAD call
 *   CREDIT     then 24 bytes: the window the sender of the record grants and what it has
 *              consumed so far, both cumulative (see credit.ts). Each end sends one as it
 *              opens; the peer may send nothing before it.
 *   HEARTBEAT  then a u32 big-endian: the sender's peer timeout in ms (how long it waits for
 *              a record before it declares this end gone). Sent as each end opens and
 *              whenever the sender has sealed nothing for its keepalive interval; being
 *              sealed, a relay cannot fake one (see liveness.ts).
 *   CONTROLS   then several CONFIRM, CLOSE, CREDIT or HEARTBEAT records, each as its kind
 *              byte and its body (whose length the kind fixes): what an end sends as it
 *              opens, in one seal (see control-records.ts).
 */
export const enum OuterKind {
  HANDSHAKE = 1,
  TRANSPORT = 2,
  REFUSED = 3,
}

export const enum InnerKind {
  MESSAGE = 0,
  CONFIRM = 1,
  CLOSE = 2,
  MESSAGES = 3,
  CREDIT = 4,
  HEARTBEAT = 5,
  CONTROLS = 6,
}

export function withKind(kind: number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(body.length + 1);
  out[0] = kind;
  out.set(body, 1);
  return out;
}
