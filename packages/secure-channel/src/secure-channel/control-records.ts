/**
 * A CONTROLS record: several control records (CONFIRM, CLOSE, CREDIT, HEARTBEAT) sealed as
 * one, each as its inner kind byte followed by its body, whose length the kind fixes. An end
 * that opens sends three (the responder: CONFIRM, CREDIT, HEARTBEAT) or two (the initiator:
 * CREDIT, HEARTBEAT) in one record: every record costs a seal, a route, a frame and an open
 * (≈ 20-25 µs on each side), a handshake's largest cost after its cryptography.
 */
import { CREDIT_BODY_LENGTH } from "./credit.js";
import { InnerKind } from "./channel-message.js";
import { HEARTBEAT_BODY_LENGTH } from "./liveness.js";

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
 * Calls `visit` with each control record of a CONTROLS body, in order, while it returns true.
 * Returns false if the body was cut short by a kind it may not carry or a truncated body
 * (what came before it was visited; the rest is dropped).
 */
export function forEachControl(body: Uint8Array, visit: (kind: InnerKind, body: Uint8Array) => boolean): boolean {
  let at = 0;
  while (at < body.length) {
    const kind = body[at]!;
    const length = bodyLength(kind);
    if (length === undefined || at + 1 + length > body.length) return false;
    if (!visit(kind, body.subarray(at + 1, at + 1 + length))) return true;
    at += 1 + length;
  }
  return true;
}
