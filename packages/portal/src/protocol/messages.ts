/**
 * The portal protocol: every message between an inlet stream and an outlet stream is a
 * routed message whose payload starts with a kind byte (integers big-endian):
 *
 *   1 OPEN    u32 window ‖ UTF-8 target ("" = the outlet's own target)   inlet → outlet
 *   2 OPENED  u32 window                                                  outlet stream → inlet stream
 *   3 DATA    bytes                                                       both ways
 *   4 CREDIT  u32 bytes (a delta: bytes the receiver's socket drained)    both ways
 *   5 END     (empty: the sender's socket half-closed; no DATA follows)   both ways
 *   6 RESET   UTF-8 error code [‖ " " ‖ detail]                            both ways
 *   7 BLOCKED (empty: the sender has bytes waiting and no credit left)     both ways
 *   8 OPEN_EARLY  as OPEN; DATA may follow it to the outlet before OPENED   inlet → outlet
 *
 * BLOCKED is QUIC's STREAM_DATA_BLOCKED: the receiver cannot tell a sender that waits for
 * credit from one whose bytes are still on the way (both look like unused credit), so the
 * sender says so, once per wait, and the receiver may grow the window (see PortalStream).
 *
 * A RESET's detail is a system error code (`ECONNREFUSED`, `ETIMEDOUT`: why a dial failed),
 * never an address or a message: it tells the inlet's operator why without the outlet's
 * network layout. A reader ignores a detail that is not such a code.
 *
 * OPEN goes to the outlet's address; OPENED comes back from the outlet's new stream
 * address, which is where the inlet stream sends from then on.
 *
 * OPEN_EARLY is early data, as TCP Fast Open's: the inlet stream may send the client's first
 * EARLY_DATA_BYTES as DATA to the outlet's address right behind it, without waiting a round
 * trip for OPENED; the outlet hands them to the stream it opened for that return route. An
 * outlet from before it answers OPEN_EARLY with RESET PORTAL_PROTOCOL (anything but OPEN), so
 * an inlet tries it once, with no DATA behind it, and falls back to OPEN if so (see Inlet).
 */
export const KIND = { OPEN: 1, OPENED: 2, DATA: 3, CREDIT: 4, END: 5, RESET: 6, BLOCKED: 7, OPEN_EARLY: 8 } as const;

/**
 * The early data an inlet stream may send behind OPEN_EARLY, before OPENED. An outlet grants
 * such a stream a window of at least this much, so the early bytes are within its credit.
 */
export const EARLY_DATA_BYTES = 64 * 1024;

/** The largest DATA message a stream sends (a socket read is split above it). */
export const MAX_DATA_BYTES = 64 * 1024;
/** The longest target an OPEN may name, and the longest RESET code. */
export const MAX_TEXT_BYTES = 512;

/** A decoded portal message. DATA's bytes are a view of the received payload. */
export type PortalMessage =
  | { kind: typeof KIND.OPEN; window: number; target: string; earlyData: boolean }
  | { kind: typeof KIND.OPENED; window: number }
  | { kind: typeof KIND.DATA; data: Uint8Array }
  | { kind: typeof KIND.CREDIT; bytes: number }
  | { kind: typeof KIND.END }
  | { kind: typeof KIND.BLOCKED }
  | { kind: typeof KIND.RESET; code: string; detail?: string };

/** What a RESET's detail may be: a system error code such as ECONNREFUSED. */
const DETAIL = /^[A-Z][A-Z0-9_]{0,31}$/;

/** `detail` when it is one a RESET may carry, else undefined. */
export function resetDetail(detail: unknown): string | undefined {
  return typeof detail === "string" && DETAIL.test(detail) ? detail : undefined;
}

const decoder = new TextDecoder("utf-8", { fatal: true });

/** Decodes a payload; undefined when it is not a well-formed portal message. */
export function decodePortalMessage(payload: Uint8Array): PortalMessage | undefined {
  if (payload.length === 0) return undefined;
  const kind = payload[0];
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  switch (kind) {
    case KIND.OPEN:
    case KIND.OPEN_EARLY: {
      if (payload.length < 5 || payload.length > 5 + MAX_TEXT_BYTES) return undefined;
      const target = text(payload.subarray(5));
      return target === undefined ? undefined : { kind: KIND.OPEN, window: view.getUint32(1), target, earlyData: kind === KIND.OPEN_EARLY };
    }
    case KIND.OPENED:
      return payload.length === 5 ? { kind, window: view.getUint32(1) } : undefined;
    case KIND.DATA:
      return payload.length > 1 ? { kind, data: payload.subarray(1) } : undefined;
    case KIND.CREDIT:
      return payload.length === 5 ? { kind, bytes: view.getUint32(1) } : undefined;
    case KIND.END:
    case KIND.BLOCKED:
      return payload.length === 1 ? { kind } : undefined;
    case KIND.RESET: {
      if (payload.length > 1 + MAX_TEXT_BYTES) return undefined;
      const body = text(payload.subarray(1));
      if (body === undefined) return undefined;
      const space = body.indexOf(" ");
      if (space < 0) return { kind, code: body };
      const detail = resetDetail(body.slice(space + 1));
      return detail === undefined ? { kind, code: body.slice(0, space) } : { kind, code: body.slice(0, space), detail };
    }
    default:
      return undefined;
  }
}

function text(bytes: Uint8Array): string | undefined {
  try {
    return decoder.decode(bytes);
  } catch {
    return undefined;
  }
}

function withU32(kind: number, value: number, tail?: Uint8Array): Uint8Array {
  const out = Buffer.allocUnsafe(5 + (tail?.length ?? 0));
  out[0] = kind;
  out.writeUInt32BE(value, 1);
  if (tail) out.set(tail, 5);
  return out;
}

/** OPEN, or OPEN_EARLY when DATA may follow it before OPENED. */
export function encodeOpen(window: number, target: string, earlyData = false): Uint8Array {
  return withU32(earlyData ? KIND.OPEN_EARLY : KIND.OPEN, window, Buffer.from(target, "utf8"));
}

export function encodeOpened(window: number): Uint8Array {
  return withU32(KIND.OPENED, window);
}

const DATA_KIND = Uint8Array.of(KIND.DATA);

/**
 * A DATA message as a payload in parts (LocalMessage.fromParts): the kind byte, then `data`
 * where it lies, never copied here. A secure channel seals the parts where they are and a TCP
 * connection writes them as they are; whoever reads the payload whole gets them joined.
 */
export function encodeDataParts(data: Uint8Array): readonly Uint8Array[] {
  return [DATA_KIND, data];
}

/** A message's kind byte, from its payload whole or in parts, without joining them (undefined: empty). */
export function kindOf(message: { readonly parts: readonly Uint8Array[] | undefined; readonly payload: Uint8Array }): number | undefined {
  const first = message.parts === undefined ? message.payload : message.parts.find((part) => part.length > 0);
  return first?.[0];
}

/**
 * The bytes of a DATA message whose payload came in parts (a record or a frame that spanned
 * socket reads, or encodeDataParts'), as views of those parts, empty ones left out; undefined
 * for anything else (read it with decodePortalMessage from the joined payload).
 */
export function dataPieces(parts: readonly Uint8Array[]): Uint8Array[] | undefined {
  let first = 0;
  while (first < parts.length && parts[first]!.length === 0) first++;
  if (first === parts.length || parts[first]![0] !== KIND.DATA) return undefined;
  const pieces: Uint8Array[] = [];
  const head = parts[first]!.subarray(1);
  if (head.length > 0) pieces.push(head);
  for (let i = first + 1; i < parts.length; i++) if (parts[i]!.length > 0) pieces.push(parts[i]!);
  return pieces.length > 0 ? pieces : undefined; // DATA with no bytes is malformed: decodePortalMessage says so
}

export function encodeCredit(bytes: number): Uint8Array {
  return withU32(KIND.CREDIT, bytes);
}

const END = Uint8Array.of(KIND.END);
export function encodeEnd(): Uint8Array {
  return END;
}

const BLOCKED = Uint8Array.of(KIND.BLOCKED);
export function encodeBlocked(): Uint8Array {
  return BLOCKED;
}

/** RESET with `code`, and `detail` when it is a system error code (else left out). */
export function encodeReset(code: string, detail?: string): Uint8Array {
  const checked = resetDetail(detail);
  const text = checked === undefined ? code : `${code} ${checked}`;
  const body = Buffer.from(text.slice(0, MAX_TEXT_BYTES), "utf8");
  const out = Buffer.allocUnsafe(1 + body.length);
  out[0] = KIND.RESET;
  out.set(body, 1);
  return out;
}
