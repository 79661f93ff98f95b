import { describe, expect, it } from "vitest";
import { encodeControls, forEachControl } from "../dist/secure-channel/control-records.js";
import { CREDIT_BODY_LENGTH } from "../dist/secure-channel/credit.js";
import { HEARTBEAT_BODY_LENGTH } from "../dist/secure-channel/liveness.js";

// Inner kinds (a const enum in channel-message.ts, so not in the build): the wire values.
const MESSAGE = 0;
const CONFIRM = 1;
const CLOSE = 2;
const CREDIT = 4;
const HEARTBEAT = 5;

const credit = Uint8Array.from({ length: CREDIT_BODY_LENGTH }, (_, i) => i + 1);
const heartbeat = Uint8Array.of(0, 0, 0x75, 0x30);

function visitAll(body: Uint8Array): { seen: [number, number[]][]; complete: boolean } {
  const seen: [number, number[]][] = [];
  const complete = forEachControl(body, (kind, b) => {
    seen.push([kind, [...b]]);
    return true;
  });
  return { seen, complete };
}

describe("CONTROLS records", () => {
  it("carry an opening end's CONFIRM, CREDIT and HEARTBEAT, in order, each as its kind byte and body", () => {
    const body = encodeControls([
      { kind: CONFIRM, body: new Uint8Array(0) },
      { kind: CREDIT, body: credit },
      { kind: HEARTBEAT, body: heartbeat },
    ]);
    expect(body.length).toBe(3 + CREDIT_BODY_LENGTH + HEARTBEAT_BODY_LENGTH);
    expect(body[0]).toBe(CONFIRM);
    expect(body[1]).toBe(CREDIT);
    expect(visitAll(body)).toEqual({
      seen: [
        [CONFIRM, []],
        [CREDIT, [...credit]],
        [HEARTBEAT, [...heartbeat]],
      ],
      complete: true,
    });
  });

  it("refuse to encode a kind they cannot carry or a body of the wrong length", () => {
    expect(() => encodeControls([{ kind: MESSAGE, body: new Uint8Array(0) }])).toThrow(RangeError);
    expect(() => encodeControls([{ kind: CREDIT, body: new Uint8Array(4) }])).toThrow(RangeError);
    expect(() => encodeControls([{ kind: CLOSE, body: Uint8Array.of(1) }])).toThrow(RangeError);
  });

  it("are cut short, after the records before it, at a kind they cannot carry or a truncated body", () => {
    const good = encodeControls([{ kind: HEARTBEAT, body: heartbeat }]);
    const withMessage = Uint8Array.of(...good, MESSAGE, 1, 2, 3);
    expect(visitAll(withMessage)).toEqual({ seen: [[HEARTBEAT, [...heartbeat]]], complete: false });
    const truncated = Uint8Array.of(...good, CREDIT, 1, 2);
    expect(visitAll(truncated)).toEqual({ seen: [[HEARTBEAT, [...heartbeat]]], complete: false });
    const nested = Uint8Array.of(6, ...good);
    expect(visitAll(nested)).toEqual({ seen: [], complete: false });
  });

  it("stop when the visitor says so (an end that a CLOSE in the record closed reads no further)", () => {
    const body = encodeControls([
      { kind: CLOSE, body: new Uint8Array(0) },
      { kind: CREDIT, body: credit },
    ]);
    const seen: number[] = [];
    expect(forEachControl(body, (kind) => (seen.push(kind), kind !== CLOSE))).toBe(true);
    expect(seen).toEqual([CLOSE]);
  });
});
