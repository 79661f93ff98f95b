import { describe, expect, it } from "vitest";
import { InvalidOptionError } from "@hopwire/runtime";
import {
  CREDIT_BODY_LENGTH,
  decodeCredit,
  DEFAULT_RECEIVE_WINDOW,
  encodeCredit,
  ReceiveCredit,
  SendCredit,
  validateWindow,
} from "../dist/secure-channel/credit.js";

const window = { messages: 8, bytes: 1000 };

describe("CREDIT records", () => {
  it("round-trip, counts past 2^32 included", () => {
    const record = { window, consumedMessages: 2 ** 40 + 3, consumedBytes: 2 ** 52 + 1 };
    const body = encodeCredit(record);
    expect(body.length).toBe(CREDIT_BODY_LENGTH);
    expect(decodeCredit(body)).toEqual(record);
  });

  it("are refused when malformed: wrong length, zero window, counts past 2^53", () => {
    const good = encodeCredit({ window, consumedMessages: 1, consumedBytes: 1 });
    expect(decodeCredit(good.subarray(1))).toBeUndefined();
    const zero = good.slice();
    zero.fill(0, 0, 4);
    expect(decodeCredit(zero)).toBeUndefined();
    const huge = good.slice();
    huge.fill(0xff, 8, 16);
    expect(decodeCredit(huge)).toBeUndefined();
  });

  it("windows are validated as options", () => {
    expect(validateWindow({})).toEqual(DEFAULT_RECEIVE_WINDOW);
    expect(validateWindow({ messages: 4 })).toEqual({ messages: 4, bytes: DEFAULT_RECEIVE_WINDOW.bytes });
    expect(() => validateWindow({ bytes: 0 })).toThrow(InvalidOptionError);
    expect(() => validateWindow({ messages: 1.5 })).toThrow(InvalidOptionError);
  });
});

describe("credit on both sides", () => {
  it("a sender has no credit before the peer's grant", () => {
    expect(new SendCredit().allows(1)).toBe(false);
  });

  it("sender and receiver apply the same rule, so an honest sender is never over credit", () => {
    const send = new SendCredit();
    const receive = new ReceiveCredit(window);
    send.grant(receive.initialRecord());
    const sizes = [100, 300, 50, 2000, 10, 10, 10, 10, 10, 10, 10, 400, 400, 400];
    let sent = 0;
    for (const size of sizes) {
      while (!send.allows(size)) {
        // The destination consumes everything that arrived; credit comes back in quarters.
        const record = receive.due();
        expect(record).toBeDefined(); // a blocked sender always gets credit eventually
        send.grant(record!);
      }
      send.spend(1, size);
      receive.beginRecord(); // each message a record of its own, arriving after the grants it was sent under
      expect(receive.admit(size)).toBe(true);
      receive.consumed(size);
      sent++;
    }
    expect(sent).toBe(sizes.length);
    expect(receive.excessMessages).toBe(0);
  });

  it("lets a message larger than the window through once the pipe is nearly empty", () => {
    const send = new SendCredit();
    const receive = new ReceiveCredit(window);
    send.grant(receive.initialRecord());
    expect(send.allows(5000)).toBe(true);
    expect(receive.admit(5000)).toBe(true);
    send.spend(1, 5000);
    expect(send.allows(1)).toBe(false); // 5000 in flight, past the window
  });

  it("the receiver returns credit only per quarter of the window, and holds it for full destinations", () => {
    const receive = new ReceiveCredit(window);
    receive.initialRecord();
    receive.admit(100);
    receive.consumed(100);
    expect(receive.due()).toBeUndefined(); // 1 message, 100 bytes: under a quarter of both
    receive.admit(200);
    receive.hold(200);
    expect(receive.due()).toBeUndefined(); // held: not consumed yet
    receive.release();
    expect(receive.due()).toEqual({ window, consumedMessages: 2, consumedBytes: 300 });
  });

  it("the sender ignores a record that claims more was consumed than it sent, and never takes credit back", () => {
    const send = new SendCredit();
    expect(send.grant({ window, consumedMessages: 0, consumedBytes: 0 })).toBe(true);
    send.spend(2, 200);
    expect(send.grant({ window, consumedMessages: 3, consumedBytes: 200 })).toBe(false);
    expect(send.grant({ window, consumedMessages: 2, consumedBytes: 200 })).toBe(true);
    expect(send.grant({ window, consumedMessages: 1, consumedBytes: 100 })).toBe(true); // late, older record
    expect(send.inFlightMessages).toBe(0);
  });

  it("the receiver drops and counts envelopes past the credit, and says when that persists", () => {
    const receive = new ReceiveCredit(window);
    receive.initialRecord();
    for (let i = 0; i < 8; i++) expect(receive.admit(10)).toBe(true);
    expect(receive.admit(10)).toBe(false); // a ninth message: the window holds 8
    expect(receive.excessMessages).toBe(1);
    expect(receive.excessPersists).toBe(false);
    receive.admit(10);
    expect(receive.excessPersists).toBe(true); // a quarter of 8 messages
  });

  it("the receiver admits a record's envelopes against the credit announced before the record came", () => {
    const receive = new ReceiveCredit(window);
    receive.initialRecord();
    receive.beginRecord();
    for (let i = 0; i < 8; i++) {
      expect(receive.admit(10)).toBe(true);
      receive.consumed(10); // dropped or delivered at once: credit is due
    }
    expect(receive.due()).toBeDefined(); // announced now, while the record is read
    expect(receive.admit(10)).toBe(false); // its sender had not seen that: a ninth in one record is past its credit
    receive.beginRecord();
    expect(receive.admit(10)).toBe(true); // the next record may use it
  });
});
