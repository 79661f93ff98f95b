/**
 * A CONTROLS record: several control records (CONFIRM, CLOSE, CREDIT, HEARTBEAT) sealed as
 * one, each as its inner kind byte followed by its body, whose length the kind fixes. An end
 * that opens sends three (the responder: CONFIRM, CREDIT, HEARTBEAT) or two (the initiator:
 * CREDIT, HEARTBEAT) in one record: every record costs a seal, a route, a frame and an open
 * (≈ 20-25 µs on each side), a handshake's largest cost after its cryptography.
 */
import { CREDIT_BODY_LENGTH, encodeCredit, type CreditRecord } from "./credit.js";
import { InnerKind } from "./channel-message.js";
import { encodeHeartbeat, HEARTBEAT_BODY_LENGTH } from "./liveness.js";

const EMPTY = new Uint8Array(0);

/** One control record: its inner kind and its body. */
export interface ControlRecord {
  readonly kind: InnerKind;
  readonly body: Uint8Array;
}

/** The body length of each kind a CONTROLS record may carry; any other kind ends it. */
function bodyLength(kind: number): number | undefined {
  switch (kind) {
    case InnerKind.CONFIRM:
    case InnerKind.CLOSE:
      return 0;
    case InnerKind.CREDIT:
      return CREDIT_BODY_LENGTH;
    case InnerKind.HEARTBEAT:
      return HEARTBEAT_BODY_LENGTH;
    default:
      return undefined;
  }
}

/** The CONTROLS body of `records`, in order. Throws on a kind it cannot carry or a body of the wrong length (a bug here). */
export function encodeControls(records: readonly ControlRecord[]): Uint8Array {
  let length = 0;
  for (const { kind, body } of records) {
    if (bodyLength(kind) !== body.length) throw new RangeError(`a CONTROLS record cannot carry kind ${kind} with ${body.length} bytes`);
    length += 1 + body.length;
  }
  const out = new Uint8Array(length);
  let at = 0;
  for (const { kind, body } of records) {
    out[at] = kind;
    out.set(body, at + 1);
    at += 1 + body.length;
  }
  return out;
}

/**
 * The most control records a CONTROLS record may carry: an end sends three at most. A peer's
 * record up to a frame's 16 MiB held 3.2 M heartbeats, each read and acted on in one turn
 * (an adversarial trial, session 54: a node's loop held ≈ 1 s a record).
 */
export const MAX_CONTROLS_PER_RECORD = 8;

/**
 * Calls `visit` with each control record of a CONTROLS body (and `context`, so that one
 * function serves every channel end, not a closure each), in order, while it returns true.
 * Returns false if the body was cut short by a kind it may not carry, a truncated body or
 * more than MAX_CONTROLS_PER_RECORD records (what came before was visited; the rest is dropped).
 */
export function forEachControl<C>(body: Uint8Array, visit: (kind: InnerKind, body: Uint8Array, context: C) => boolean, context?: C): boolean {
  let at = 0;
  for (let count = 0; at < body.length; count++) {
    if (count === MAX_CONTROLS_PER_RECORD) return false;
    const kind = body[at]!;
    const length = bodyLength(kind);
    if (length === undefined || at + 1 + length > body.length) return false;
    if (!visit(kind, body.subarray(at + 1, at + 1 + length), context as C)) return true;
    at += 1 + length;
  }
  return true;
}

/** An opening CONTROLS body and what it was encoded from. */
interface OpeningBody {
  readonly messages: number;
  readonly bytes: number;
  readonly peerTimeout: number;
  readonly body: Uint8Array;
}

/** The last opening body of each role: the ends of one listener (or one caller's options) all open with the same. */
const openingBodies: { initiator: OpeningBody | undefined; responder: OpeningBody | undefined } = { initiator: undefined, responder: undefined };

/**
 * The body of an end's opening CONTROLS record ([CONFIRM,] CREDIT, HEARTBEAT). It depends only
 * on the role, the receive window and the peer timeout, so the ends of a listener share one,
 * encoded once, instead of allocating its records, their bodies and views on every handshake.
 * Shared read-only: a seal copies it (inline) or reads it before the turn ends (threaded).
 * @internal
 */
export function openingBody(role: "initiator" | "responder", grant: CreditRecord, peerTimeout: number): Uint8Array {
  // Nothing is consumed before an end opens; a grant that says otherwise is encoded as it is.
  if (grant.consumedMessages !== 0 || grant.consumedBytes !== 0) return encodeOpening(role, grant, peerTimeout);
  const last = openingBodies[role];
  const { messages, bytes } = grant.window;
  if (last !== undefined && last.messages === messages && last.bytes === bytes && last.peerTimeout === peerTimeout) return last.body;
  const body = encodeOpening(role, grant, peerTimeout);
  openingBodies[role] = { messages, bytes, peerTimeout, body };
  return body;
}

function encodeOpening(role: "initiator" | "responder", grant: CreditRecord, peerTimeout: number): Uint8Array {
  const opening: ControlRecord[] = role === "responder" ? [{ kind: InnerKind.CONFIRM, body: EMPTY }] : [];
  opening.push({ kind: InnerKind.CREDIT, body: encodeCredit(grant) }, { kind: InnerKind.HEARTBEAT, body: encodeHeartbeat(peerTimeout) });
  return encodeControls(opening);
}
