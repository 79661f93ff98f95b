// The portal protocol's messages (docs/portals.md, "Protocol"): each kind decodes from what its
// encoder writes, and a payload of the wrong length for its kind is not a portal message.
import { describe, expect, it } from "vitest";
import { dataPieces, decodePortalMessage, encodeBlocked, encodeCredit, encodeDataParts, encodeEnd, encodeOpen, encodeOpened, encodeReset, KIND } from "../dist/protocol/index.js";

describe("portal messages", () => {
  it("decode from what their encoders write", () => {
    expect(decodePortalMessage(encodeOpen(65_536, "db:5432"))).toEqual({ kind: KIND.OPEN, window: 65_536, target: "db:5432", earlyData: false });
    // OPEN_EARLY: OPEN's body under kind 8, read as an OPEN that DATA may follow before OPENED.
    const early = encodeOpen(65_536, "", true);
    expect(early[0]).toBe(KIND.OPEN_EARLY);
    expect(decodePortalMessage(early)).toEqual({ kind: KIND.OPEN, window: 65_536, target: "", earlyData: true });
    expect(decodePortalMessage(encodeOpened(1024))).toEqual({ kind: KIND.OPENED, window: 1024 });
    const data = decodePortalMessage(Buffer.concat(encodeDataParts(Uint8Array.of(1, 2, 3))));
    expect(data?.kind).toBe(KIND.DATA);
    expect([...(data as { data: Uint8Array }).data]).toEqual([1, 2, 3]);
    expect(decodePortalMessage(encodeCredit(4096))).toEqual({ kind: KIND.CREDIT, bytes: 4096 });
    expect(decodePortalMessage(encodeEnd())).toEqual({ kind: KIND.END });
    expect(decodePortalMessage(encodeReset("PORTAL_RESET"))).toEqual({ kind: KIND.RESET, code: "PORTAL_RESET" });
    expect(decodePortalMessage(encodeBlocked())).toEqual({ kind: KIND.BLOCKED });
  });

  it("DATA in parts: written without a copy, read back as views of the parts", () => {
    const bytes = Uint8Array.of(1, 2, 3);
    const parts = encodeDataParts(bytes);
    expect(parts.at(-1)).toBe(bytes); // the bytes where they lie, not a copy
    expect(dataPieces(parts)?.map((piece) => [...piece])).toEqual([[1, 2, 3]]);
    // As a record or frame that spanned socket reads brings it: cut anywhere, empty pieces and all.
    const joined = Buffer.concat(parts);
    const cut = [joined.subarray(0, 2), new Uint8Array(0), joined.subarray(2)];
    const pieces = dataPieces(cut)!;
    expect(pieces.map((piece) => [...piece])).toEqual([[1], [2, 3]]);
    expect(pieces[1]!.buffer).toBe(joined.buffer); // views, not copies
    expect(dataPieces([Uint8Array.of(KIND.DATA)])).toBeUndefined(); // no bytes: malformed, left to decodePortalMessage
    expect(dataPieces([encodeCredit(1)])).toBeUndefined();
  });

  it("a RESET may carry a system error code as its detail, and nothing else", () => {
    expect(decodePortalMessage(encodeReset("PORTAL_TARGET_UNREACHABLE", "ECONNREFUSED"))).toEqual({ kind: KIND.RESET, code: "PORTAL_TARGET_UNREACHABLE", detail: "ECONNREFUSED" });
    // Not a code (an address, a message): left out when written, ignored when read.
    expect(decodePortalMessage(encodeReset("PORTAL_TARGET_UNREACHABLE", "connect ECONNREFUSED 10.0.0.5:5432"))).toEqual({ kind: KIND.RESET, code: "PORTAL_TARGET_UNREACHABLE" });
    const forged = new Uint8Array([KIND.RESET, ...new TextEncoder().encode("PORTAL_RESET 10.0.0.5:5432")]);
    expect(decodePortalMessage(forged)).toEqual({ kind: KIND.RESET, code: "PORTAL_RESET" });
  });

  it("refuses a payload of the wrong length for its kind, and unknown kinds", () => {
    expect(decodePortalMessage(Uint8Array.of(KIND.BLOCKED, 0))).toBeUndefined(); // BLOCKED is empty
    expect(decodePortalMessage(Uint8Array.of(KIND.END, 0))).toBeUndefined();
    expect(decodePortalMessage(Uint8Array.of(KIND.CREDIT, 0, 0))).toBeUndefined();
    expect(decodePortalMessage(Uint8Array.of(KIND.DATA))).toBeUndefined(); // DATA carries at least one byte
    expect(decodePortalMessage(Uint8Array.of(KIND.OPEN_EARLY, 0, 0))).toBeUndefined(); // its window is 4 bytes
    expect(decodePortalMessage(Uint8Array.of(9))).toBeUndefined();
    expect(decodePortalMessage(new Uint8Array(0))).toBeUndefined();
  });
});
