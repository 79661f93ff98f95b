import { describe, expect, it } from "vitest";
import { encodeControls, forEachControl, MAX_CONTROLS_PER_RECORD, openingBody } from "../dist/secure-channel/control-records.js";
import { CREDIT_BODY_LENGTH, encodeCredit } from "../dist/secure-channel/credit.js";
import { encodeHeartbeat, HEARTBEAT_BODY_LENGTH } from "../dist/secure-channel/liveness.js";

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

  it(`carry at most ${MAX_CONTROLS_PER_RECORD} records: the rest of a longer one is dropped (a peer's 16 MiB of heartbeats held a node's loop)`, () => {
    const many = (count: number) => encodeControls(Array.from({ length: count }, () => ({ kind: HEARTBEAT, body: heartbeat })));
    expect(visitAll(many(MAX_CONTROLS_PER_RECORD))).toMatchObject({ complete: true });
    expect(visitAll(many(MAX_CONTROLS_PER_RECORD)).seen).toHaveLength(MAX_CONTROLS_PER_RECORD);
    const past = visitAll(many(100_000));
    expect(past.complete).toBe(false);
    expect(past.seen).toHaveLength(MAX_CONTROLS_PER_RECORD);
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

describe("an opening end's CONTROLS body", () => {
  const grant = (messages: number, bytes: number, consumed = 0) => ({ window: { messages, bytes }, consumedMessages: consumed, consumedBytes: consumed });

  it("is [CONFIRM,] CREDIT, HEARTBEAT, encoded once per role, window and peer timeout, and anew when any of them changes", () => {
    const responder = openingBody("responder", grant(8192, 4 << 20), 30_000);
    expect(visitAll(responder).seen).toEqual([
      [CONFIRM, []],
      [CREDIT, [...encodeCredit(grant(8192, 4 << 20))]],
      [HEARTBEAT, [...encodeHeartbeat(30_000)]],
    ]);
    expect(openingBody("responder", grant(8192, 4 << 20), 30_000)).toBe(responder); // shared, not re-encoded
    const initiator = openingBody("initiator", grant(8192, 4 << 20), 30_000);
    expect(visitAll(initiator).seen.map(([kind]) => kind)).toEqual([CREDIT, HEARTBEAT]);
    expect(openingBody("responder", grant(8192, 4 << 20), 30_000)).toBe(responder); // each role keeps its own

    const shorter = openingBody("responder", grant(8192, 4 << 20), 1_500);
    expect(visitAll(shorter).seen[2]).toEqual([HEARTBEAT, [...encodeHeartbeat(1_500)]]);
    const smaller = openingBody("responder", grant(16, 4 << 20), 1_500);
    expect(visitAll(smaller).seen[1]).toEqual([CREDIT, [...encodeCredit(grant(16, 4 << 20))]]);
    const fewerBytes = openingBody("responder", grant(16, 1024), 1_500);
    expect(visitAll(fewerBytes).seen[1]).toEqual([CREDIT, [...encodeCredit(grant(16, 1024))]]);
    // A grant with something consumed (never at open) is encoded as it is, and not kept.
    const consumed = openingBody("responder", grant(16, 1024, 3), 1_500);
    expect(visitAll(consumed).seen[1]).toEqual([CREDIT, [...encodeCredit(grant(16, 1024, 3))]]);
    expect(openingBody("responder", grant(16, 1024), 1_500)).toBe(fewerBytes);
  });
});
