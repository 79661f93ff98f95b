// scale/raw-records, the floor of scale/channels: its records must be real AES-256-GCM records
// under per-channel keys (a record that is tampered with, replayed or for another channel does not
// open), and its two processes must stream them round-robin over all channels and count them in
// one window. Real child processes, the compiled roles the bench runs, over loopback.
import { describe, expect, it } from "vitest";
import { createDecipheriv } from "node:crypto";
import net from "node:net";
import { once } from "node:events";
import { withChildren } from "../dist/proc/spawn.js";
import { RecordOpener, RecordSealer, RECORD_OVERHEAD, recordKeys } from "../dist/net/aead-records.js";
import type { ScaleRawSinkReady, ScaleRawSinkResult } from "../dist/roles/scale-raw-sink.js";

const role = (name: string): URL => new URL(`../dist/roles/${name}.js`, import.meta.url);

describe("bare node:crypto records", () => {
  const keys = recordKeys(3);
  const payload = new Uint8Array(1024).map((_, i) => i & 0xff);

  it("are AES-256-GCM under the channel's key, IV = four zero bytes then the nonce, a new nonce each", () => {
    const sealer = new RecordSealer(keys);
    const ciphertexts = new Set<string>();
    for (let n = 0; n < 4; n++) {
      const record = sealer.seal(2, payload);
      expect(record.length).toBe(payload.length + RECORD_OVERHEAD);
      expect(record.readUInt32BE(0)).toBe(2);
      expect(record.readBigUInt64BE(4)).toBe(BigInt(n));
      // The IV built here, not by the module: a constant or mis-built IV would not decrypt.
      const iv = Buffer.alloc(12);
      iv.writeBigUInt64BE(BigInt(n), 4);
      const decipher = createDecipheriv("aes-256-gcm", Buffer.from(keys[2]!, "hex"), iv);
      decipher.setAuthTag(record.subarray(record.length - 16));
      const plaintext = Buffer.concat([decipher.update(record.subarray(12, record.length - 16)), decipher.final()]);
      expect(plaintext.equals(Buffer.from(payload))).toBe(true);
      ciphertexts.add(record.subarray(12).toString("hex"));
    }
    expect(ciphertexts.size).toBe(4); // the same payload sealed four times: four ciphertexts
  });

  it("open in order, and refuse a replay, a flipped bit and another channel's key", () => {
    const sealer = new RecordSealer(keys);
    const opener = new RecordOpener(keys);
    const first = sealer.seal(0, payload);
    const second = sealer.seal(0, payload);
    expect(opener.open(first).equals(Buffer.from(payload))).toBe(true);
    expect(opener.open(second).equals(Buffer.from(payload))).toBe(true);
    expect(() => opener.open(first)).toThrow(/replayed/);
    const tampered = Buffer.from(sealer.seal(1, payload));
    tampered[20]! ^= 1;
    expect(() => opener.open(tampered)).toThrow();
    const moved = Buffer.from(sealer.seal(1, payload));
    moved.writeUInt32BE(2, 0); // channel 2's key, whose nonce 1 is not used yet
    expect(() => opener.open(moved)).toThrow();
    expect(() => new RecordOpener(keys.slice(0, 1)).open(sealer.seal(2, payload))).toThrow(/channel 2/);
    // A forged record does not move its channel on: the next authentic one still opens.
    const forged = Buffer.from(sealer.seal(0, payload));
    forged.writeUInt32BE(1000, 8); // nonce 1,000
    expect(() => opener.open(forged)).toThrow(/authenticate/);
    expect(opener.open(sealer.seal(0, payload)).equals(Buffer.from(payload))).toBe(true);
  });
});

describe("scale/raw-records", () => {
  it("streams records round-robin over n channels of one connection, and the sink opens and counts them in one window", async () => {
    const sink = await withChildren(new AbortController().signal, 30_000, async (spawn) => {
      const sinkChild = spawn<ScaleRawSinkReady, ScaleRawSinkResult>("sink", role("scale-raw-sink"), { count: 50, size: 1024, warmupMs: 50, warmMessages: 30_000, durationMs: 200 });
      const ready = await sinkChild.ready;
      expect(ready.keys).toHaveLength(50);
      const sender = spawn<null, { sent: number }>("sender", role("scale-raw-sender"), { port: ready.port, keys: ready.keys, size: 1024 });
      const result = (await sinkChild.result).data;
      sender.stop();
      await sender.result;
      return result;
    });
    expect(sink.channels).toBe(50);
    expect(sink.window.before).toBeGreaterThanOrEqual(30_000); // the window waited for its warm count
    expect(sink.window.messages).toBeGreaterThan(0);
    expect(sink.window.payloadBytes).toBe(sink.window.messages * 1024);
  });

  it("fails the case when a record does not open", async () => {
    const run = withChildren(new AbortController().signal, 30_000, async (spawn) => {
      const sinkChild = spawn<ScaleRawSinkReady, ScaleRawSinkResult>("sink", role("scale-raw-sink"), { count: 2, size: 1024, warmupMs: 300, durationMs: 200 });
      const { port, keys } = await sinkChild.ready;
      const record = Buffer.from(new RecordSealer(keys).seal(1, new Uint8Array(1024)));
      record[record.length - 1]! ^= 1; // the tag
      const socket = net.connect({ port, host: "127.0.0.1" });
      await once(socket, "connect");
      const length = Buffer.alloc(4);
      length.writeUInt32BE(record.length, 0);
      socket.on("error", () => {});
      socket.write(Buffer.concat([length, record]));
      try {
        return (await sinkChild.result).data;
      } finally {
        socket.destroy();
      }
    });
    await expect(run).rejects.toThrow(/authenticate/);
  });
});
