// The encryptor's FIFO: what goes in comes out in order, however pushes and takes interleave,
// including across the points where it empties, wraps round its slots or grows.
import { describe, expect, it, vi } from "vitest";
import { REPEATED_HEAD, encodeBody } from "@hopwire/runtime";
import { EncryptorQueue, PAYLOAD_LENGTH_BYTES } from "../dist/secure-channel/encryptor-queue.js";
import { release } from "../dist/secure-channel/staging.js";

const limits = { maxMessages: 100_000, maxBytes: 1 << 30 };
const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => Buffer.compare(a, b) === 0;
const envelope = (n: number): [Uint8Array, Uint8Array] => [Uint8Array.of(n & 0xff, n >> 8), new Uint8Array(n % 7).fill(n & 0xff)];

describe("EncryptorQueue", () => {
  it("keeps FIFO order and byte counts through empties, partial takes, wraps and growth", () => {
    const queue = new EncryptorQueue(limits);
    let next = 0; // next number to push
    let expected = 0; // next number to take
    let bytes = 0;
    // A deterministic mix: bursts of pushes, takes of 1..n, emptying now and then; > 2048 queued at times (growth past what an emptied queue keeps).
    for (let round = 0; round < 400; round++) {
      const pushes = round % 50 === 7 ? 3000 : (round * 37) % 90;
      for (let k = 0; k < pushes; k++) {
        const [head, payload] = envelope(next++);
        queue.push(head, payload);
        bytes += head.length + PAYLOAD_LENGTH_BYTES + payload.length;
      }
      const takes = round % 3 === 0 ? queue.length : Math.min(queue.length, (round * 13) % 200);
      let taken = 0;
      // Checked by hand and asserted once per round: ~50,000 entries through expect() cost seconds.
      const wrong: number[] = [];
      for (let i = 0; i < takes; i++) {
        const [head, payload] = envelope(expected + i);
        const size = head.length + PAYLOAD_LENGTH_BYTES + payload.length;
        if (!sameBytes(queue.head(i), head) || !sameBytes(queue.payload(i), payload) || queue.size(i) !== size) wrong.push(expected + i);
        taken += queue.size(i);
      }
      expect(wrong, `round ${round}: entries out of order or altered`).toEqual([]);
      queue.take(takes, taken);
      expected += takes;
      bytes -= taken;
      expect(queue.length).toBe(next - expected);
      expect(queue.bytes).toBe(bytes);
    }
    expect(queue.dropAll()).toBe(next - expected);
    expect(queue.length).toBe(0);
    expect(queue.bytes).toBe(0);
    const [head, payload] = envelope(1);
    queue.push(head, payload);
    expect(queue.head(0)).toEqual(head);
  });

  it("takeRecord writes an envelope whose head is the one before it as REPEATED_HEAD | payload length and the payload alone", () => {
    const queue = new EncryptorQueue(limits);
    const a = new Uint8Array(40).fill(1);
    const b = new Uint8Array(40).fill(2);
    const payloads = [3, 70, 0, 5, 9].map((n, i) => new Uint8Array(n).fill(0x10 + i));
    const heads = [a, a, a, b, a]; // the same object repeats; b breaks the run, then a is written again
    heads.forEach((head, i) => queue.push(head, payloads[i]!));
    let bytes = 0;
    for (let i = 0; i < heads.length; i++) bytes += queue.size(i);
    const record = queue.takeRecord(heads.length, bytes, new Uint8Array(bytes + 4 * heads.length));
    const view = new DataView(record.buffer, record.byteOffset, record.byteLength);
    let at = 0;
    heads.forEach((head, i) => {
      const payload = payloads[i]!;
      const word = view.getUint32(at);
      const repeated = i > 0 && head === heads[i - 1];
      expect((word & REPEATED_HEAD) !== 0, `envelope ${i}`).toBe(repeated);
      if (repeated) {
        expect(word & ~REPEATED_HEAD).toBe(payload.length);
        at += 4;
      } else {
        expect(word).toBe(head.length + PAYLOAD_LENGTH_BYTES + payload.length);
        expect(sameBytes(record.subarray(at + 4, at + 4 + head.length), head)).toBe(true);
        at += 8 + head.length;
      }
      expect(sameBytes(record.subarray(at, at + payload.length), payload), `payload ${i}`).toBe(true);
      at += payload.length;
    });
    expect(at).toBe(record.length);
    expect(record.length).toBe(bytes + 4 * heads.length - 2 * (a.length + PAYLOAD_LENGTH_BYTES)); // two heads not written
    expect(queue.length).toBe(0);
  });

  it("takeRecord writes the oldest envelopes as a MESSAGES body (length, head, payload length, payload) and takes them", () => {
    const queue = new EncryptorQueue(limits);
    // Heads and payloads on both sides of copyBytes' 32-byte switch from loop to set.
    const entries: [Uint8Array, Uint8Array][] = [];
    for (let n = 0; n < 40; n++) entries.push([new Uint8Array(n % 3 === 0 ? 40 : 5).fill(n), new Uint8Array((n * 11) % 70).fill(0xa0 + (n % 16))]);
    for (const [head, payload] of entries) queue.push(head, payload);
    queue.take(1, queue.size(0)); // the record starts past a taken slot
    const count = 30;
    let bytes = 0;
    for (let i = 0; i < count; i++) bytes += queue.size(i);
    const into = new Uint8Array(bytes + 4 * count + 100).fill(0xee);
    const record = queue.takeRecord(count, bytes, into);
    expect(record.length).toBe(bytes + 4 * count);
    expect(record.buffer).toBe(into.buffer); // written in place, not copied out
    const view = new DataView(record.buffer, record.byteOffset, record.byteLength);
    let at = 0;
    for (let i = 1; i <= count; i++) {
      const [head, payload] = entries[i]!;
      expect(view.getUint32(at)).toBe(head.length + PAYLOAD_LENGTH_BYTES + payload.length);
      expect(sameBytes(record.subarray(at + 4, at + 4 + head.length), head), `head ${i}`).toBe(true);
      expect(view.getUint32(at + 4 + head.length)).toBe(payload.length);
      const start = at + 8 + head.length;
      expect(sameBytes(record.subarray(start, start + payload.length), payload), `payload ${i}`).toBe(true);
      at = start + payload.length;
    }
    expect(at).toBe(record.length);
    expect(into[record.length]).toBe(0xee); // nothing written past the record
    expect(queue.length).toBe(entries.length - 1 - count);
    expect(sameBytes(queue.head(0), entries[count + 1]![0])).toBe(true);
    let left = 0;
    for (let i = 0; i < queue.length; i++) left += queue.size(i);
    expect(queue.bytes).toBe(left);
  });

  it("copies lent bytes into staging memory that is written over only once what it held is taken, across queues", () => {
    // Two queues share the thread's staging memory, as two channels do. Bodies of 1,000-5,000 bytes span many chunks.
    const queues = [new EncryptorQueue(limits), new EncryptorQueue(limits)];
    const pushed = [0, 0];
    const taken = [0, 0];
    const head = Uint8Array.of(1, 2, 3);
    const lent = new Uint8Array(5000);
    const lengthOf = (n: number): number => 1000 + ((n * 977) % 4000);
    const wrong: string[] = [];
    for (let round = 0; round < 300; round++) {
      for (const q of [0, 1]) {
        const queue = queues[q]!;
        const pushes = (round * 7 + q * 3) % 40;
        for (let k = 0; k < pushes; k++) {
          const n = pushed[q]!++;
          const bytes = lent.subarray(0, lengthOf(n));
          bytes.fill((n + q) & 0xff);
          queue.pushLentBytes(head, bytes);
          lent.fill(0xee); // the sender's buffer is its own again: the queue must not see this
        }
        // Every queued body is still what was lent: bin16 header, then the bytes.
        for (let i = 0; i < queue.length; i++) {
          const n = taken[q]! + i;
          const payload = queue.payload(i);
          const length = lengthOf(n);
          if (payload.length !== 3 + length || payload[0] !== 0xc5 || payload.readUInt16BE(1) !== length || payload.subarray(3).some((b) => b !== ((n + q) & 0xff))) wrong.push(`queue ${q} body ${n}`);
        }
        const takes = round % 5 === q ? queue.length : Math.min(queue.length, (round * 11 + q) % 30);
        if (takes === 1) {
          // As a channel seals a lone message: taken first, released once sealed.
          const chunk = queue.takeFirst(queue.size(0));
          if (chunk !== undefined) release(chunk);
        } else {
          let bytes = 0;
          for (let i = 0; i < takes; i++) bytes += queue.size(i);
          queue.take(takes, bytes);
        }
        taken[q]! += takes;
      }
      expect(wrong, `round ${round}`).toEqual([]);
    }
    // Emptied, a queue's next body is written where the last ones were (the memory is reused, not fresh).
    for (const queue of queues) {
      let bytes = 0;
      for (let i = 0; i < queue.length; i++) bytes += queue.size(i);
      queue.take(queue.length, bytes);
    }
    queues[0]!.pushLentBytes(head, lent.subarray(0, 100));
    const first = queues[0]!.payload(0);
    queues[0]!.take(1, queues[0]!.size(0));
    queues[0]!.pushLentBytes(head, lent.subarray(0, 100));
    const second = queues[0]!.payload(0);
    expect([second.buffer, second.byteOffset]).toEqual([first.buffer, first.byteOffset]);
    queues[0]!.take(1, queues[0]!.size(0)); // the thread's staging memory is shared: leave nothing in it
  });

  it("takeRecord writes staged bodies (runs of them in one piece) exactly as the same envelopes queued with their own payloads", () => {
    const staged = new EncryptorQueue(limits);
    const reference = new EncryptorQueue(limits);
    const heads = [Uint8Array.of(1, 2, 3), Uint8Array.of(4, 5)];
    const lent = new Uint8Array(3000);
    for (let round = 0; round < 50; round++) {
      // Runs of one head, the head changing now and then; lent and owned payloads mixed; some bodies past a chunk's end.
      const count = 1 + ((round * 17) % 60);
      for (let k = 0; k < count; k++) {
        const head = heads[(k >> 3) % 2]!;
        const bytes = lent.subarray(0, (round * 31 + k * 97) % 3000).fill((round + k) & 0xff);
        reference.push(head, encodeBody(bytes));
        if ((k + round) % 5 === 0) staged.push(head, encodeBody(bytes));
        else staged.pushLentBytes(head, bytes);
        lent.fill(0xee);
      }
      let bytes = 0;
      for (let i = 0; i < count; i++) bytes += reference.size(i);
      expect(staged.length).toBe(count);
      const want = Buffer.from(reference.takeRecord(count, bytes, Buffer.alloc(bytes + 4 * count)));
      const got = Buffer.from(staged.takeRecord(count, bytes, Buffer.alloc(bytes + 4 * count)));
      expect(got.equals(want), `round ${round}`).toBe(true);
    }
  });

  it("takeRecord writes what a plain list of the envelopes says, from a queue that is never emptied (its slots wrap and grow while wrapped)", () => {
    const queue = new EncryptorQueue(limits);
    const model: { head: Uint8Array; payload: Buffer }[] = [];
    const heads = [Uint8Array.of(1, 2, 3), Uint8Array.of(4, 5)];
    const lent = new Uint8Array(600);
    let n = 0;
    /** A MESSAGES body as the format says: a head once per run of it, REPEATED_HEAD | length after. */
    const expected = (envelopes: typeof model): Buffer => {
      const out: Buffer[] = [];
      let previous: Uint8Array | undefined;
      for (const { head, payload } of envelopes) {
        const word = Buffer.alloc(4);
        if (head === previous) word.writeUInt32BE((REPEATED_HEAD | payload.length) >>> 0);
        else word.writeUInt32BE(head.length + PAYLOAD_LENGTH_BYTES + payload.length);
        out.push(word);
        if (head !== previous) {
          const length = Buffer.alloc(4);
          length.writeUInt32BE(payload.length);
          out.push(Buffer.from(head), length);
        }
        out.push(payload);
        previous = head;
      }
      return Buffer.concat(out);
    };
    for (let round = 0; round < 300; round++) {
      for (let k = 0, count = 1 + ((round * 23) % 45); k < count; k++, n++) {
        const head = heads[(n >> 4) % 2]!;
        const bytes = lent.subarray(0, (n * 41) % 600).fill(n & 0xff);
        model.push({ head, payload: Buffer.from(encodeBody(bytes)) });
        if (n % 7 === 0) queue.push(head, encodeBody(bytes));
        else queue.pushLentBytes(head, bytes);
        lent.fill(0xee);
      }
      // Two thirds taken, the rest left queued: the oldest slot moves round the ring.
      const take = Math.max(1, Math.floor((queue.length * 2) / 3));
      let bytes = 0;
      for (let i = 0; i < take; i++) bytes += queue.size(i);
      const got = Buffer.from(queue.takeRecord(take, bytes, Buffer.alloc(bytes + 4 * take)));
      expect(got.equals(expected(model.splice(0, take))), `round ${round}`).toBe(true);
      expect(queue.length).toBe(model.length);
    }
    // Its staging chunks go back (staging is the thread's: the tests after this one count it).
    expect(queue.dropAll()).toBe(model.length);
  });

  it("keeps its slots when emptied (a stream refills them), and lets go of a burst's past 2,048 on trim() once empty", () => {
    const queue = new EncryptorQueue(limits);
    const [head, payload] = envelope(3);
    const size = head.length + PAYLOAD_LENGTH_BYTES + payload.length;
    const fillAndEmpty = (n: number): void => {
      for (let i = 0; i < n; i++) queue.push(head, payload);
      queue.take(n, n * size);
    };
    fillAndEmpty(5000); // a burst
    const grown = queue.slots;
    expect(grown).toBeGreaterThanOrEqual(5000);
    fillAndEmpty(4000); // the stream's next turns: the same slots, none made
    expect(queue.slots).toBe(grown);
    queue.push(head, payload);
    queue.trim(); // not empty: kept
    expect(queue.slots).toBe(grown);
    queue.take(1, size);
    queue.trim();
    expect(queue.slots).toBe(0);
    fillAndEmpty(100);
    queue.trim(); // within what an idle queue keeps
    expect(queue.slots).toBe(128);
    queue.push(head, payload);
    expect(queue.head(0)).toEqual(head);
    queue.take(1, size);
  });

  it("shrinks a burst's ring that a queue which never empties no longer uses, a second after it last grew, keeping its order", () => {
    vi.useFakeTimers({ toFake: ["performance"] });
    try {
      const queue = new EncryptorQueue(limits);
      let pushed = 0;
      let taken = 0;
      const push = (n: number): void => {
        for (let i = 0; i < n; i++, pushed++) queue.push(...envelope(pushed));
      };
      const take = (n: number): void => {
        let bytes = 0;
        for (let i = 0; i < n; i++) bytes += queue.size(i);
        queue.take(n, bytes);
        taken += n;
      };
      push(5000); // a burst: 8,192 slots
      expect(queue.slots).toBe(8192);
      take(4990); // ten left: not at once, the ring may be wanted again
      expect(queue.slots).toBe(8192);
      vi.advanceTimersByTime(1000);
      push(3);
      take(1); // a second on, a quarter or less used: halved or more, to what an idle queue keeps
      expect(queue.slots).toBe(2048);
      const wrong: number[] = [];
      for (let i = 0; i < queue.length; i++) if (!sameBytes(queue.head(i), envelope(taken + i)[0])) wrong.push(taken + i);
      expect(wrong).toEqual([]);
      // A stream that keeps filling it keeps it: no shrinking while more than a quarter is in use.
      push(4000);
      vi.advanceTimersByTime(5000);
      take(1000);
      expect(queue.slots).toBe(4096);
      take(queue.length);
      queue.dropAll();
    } finally {
      vi.useRealTimers();
    }
  });

  it("keeps a payload pushed in parts as its parts, and takeRecord writes it as the same payload joined", () => {
    const inParts = new EncryptorQueue(limits);
    const reference = new EncryptorQueue(limits);
    const head = Uint8Array.of(7, 7);
    const parts = [Uint8Array.of(3), new Uint8Array(40).fill(9), new Uint8Array(0), new Uint8Array(500).fill(4)];
    const joined = Buffer.concat(parts);
    for (const queue of [inParts, reference]) queue.push(head, Uint8Array.of(1, 2));
    inParts.pushParts(head, parts, joined.length);
    reference.push(head, joined);
    expect(inParts.payload(1)).toBe(parts); // not joined
    expect(inParts.size(1)).toBe(reference.size(1));
    const bytes = reference.size(0) + reference.size(1);
    const want = Buffer.from(reference.takeRecord(2, bytes, Buffer.alloc(bytes + 8)));
    expect(Buffer.from(inParts.takeRecord(2, bytes, Buffer.alloc(bytes + 8))).equals(want)).toBe(true);
  });

  it("hands every staging chunk back through wraps, growth, takeFirst and dropAll: the next body is written at a chunk's start", () => {
    const queue = new EncryptorQueue(limits);
    const head = Uint8Array.of(9);
    const lent = new Uint8Array(700);
    let next = 0;
    let taken = 0;
    const wrong: number[] = [];
    // Deep enough to wrap round its slots and to grow past the slots an emptied queue keeps.
    for (let round = 0; round < 6; round++) {
      for (let k = 0; k < 1500; k++) {
        const n = next++;
        queue.pushLentBytes(head, lent.subarray(0, 100 + (n % 600)).fill(n & 0xff));
      }
      for (let t = 0; t < 3; t++) {
        const takes = Math.min(queue.length, 700);
        let bytes = 0;
        for (let i = 0; i < takes; i++) bytes += queue.size(i);
        if (t === 1) {
          const chunk = queue.takeFirst(queue.size(0));
          if (chunk !== undefined) release(chunk);
          taken++;
        } else {
          queue.take(takes, bytes);
          taken += takes;
        }
        for (let i = 0; i < queue.length; i++) {
          const n = taken + i;
          const payload = queue.payload(i);
          const length = 100 + (n % 600);
          if (payload.length !== (length < 256 ? 2 : 3) + length || payload[payload.length - 1] !== (n & 0xff)) wrong.push(n);
        }
      }
    }
    expect(wrong).toEqual([]);
    expect(queue.dropAll()).toBe(next - taken);
    // Every chunk came back: the one being filled is written from its start again (after its REPEATED_HEAD word).
    queue.pushLentBytes(head, lent.subarray(0, 10));
    expect(queue.payload(0).byteOffset).toBe(4);
  });

  it("keeps at most 64 chunks (4 MiB) of staging in use per thread: bodies past that get buffers of their own, and staging resumes once bodies are taken", () => {
    // Bodies that wait long (a channel whose peer grants no credit) pin at most that much, however many channels.
    const queue = new EncryptorQueue(limits);
    const head = Uint8Array.of(7);
    const lent = new Uint8Array(1000).fill(3);
    const staged = (i: number): boolean => queue.payload(i).buffer.byteLength !== queue.payload(i).length;
    for (let i = 0; i < 6000; i++) queue.pushLentBytes(head, lent); // 1,003-byte bodies + their words: 65 to a chunk
    let inChunks = 0;
    for (let i = 0; i < queue.length; i++) if (staged(i)) inChunks++;
    expect(inChunks).toBe(64 * Math.floor(65536 / 1007));
    expect(staged(queue.length - 1)).toBe(false);
    expect(queue.payload(queue.length - 1)).toEqual(encodeBody(lent));
    queue.dropAll();
    queue.pushLentBytes(head, lent);
    expect(staged(0)).toBe(true);
    queue.take(1, queue.size(0));
  });
});
