import { describe, expect, it } from "vitest";
import { LocalMessage, route } from "@hopwire/runtime";

// A payload given in parts is one payload to everyone who reads it.

describe("LocalMessage in parts", () => {
  const onward = route("a", "b");
  const back = route("c");
  const parts = [Uint8Array.of(1, 2), new Uint8Array(0), Uint8Array.of(3), new Uint8Array(3000).fill(4)];

  it("reports its length without joining, and reads as the parts joined in order", () => {
    const message = LocalMessage.fromParts(onward, back, parts);
    expect(message.payloadLength).toBe(3003);
    expect(message.parts).toBe(parts);
    expect(Array.from(message.payload.subarray(0, 4))).toEqual([1, 2, 3, 4]);
    expect(message.payload.length).toBe(3003);
    expect(message.payload.subarray(3).every((b) => b === 4)).toBe(true);
    expect(message.payload).toBe(message.payload); // joined once
  });

  it("keeps its parts through copies with other routes or local info, and drops them for another payload", () => {
    const message = LocalMessage.fromParts(onward, back, parts);
    const moved = message.withOnwardRoute(route("b")).withReturnRoute(route("d")).withLocalInfo({ k: 1 });
    expect(moved.parts).toBe(parts);
    expect(moved.payloadLength).toBe(3003);
    expect(moved.localInfo).toEqual({ k: 1 });
    const replaced = message.withPayload(Uint8Array.of(9));
    expect(replaced.parts).toBeUndefined();
    expect(Array.from(replaced.payload)).toEqual([9]);
    expect(replaced.payloadLength).toBe(1);
  });

  it("a message given one buffer has no parts and that buffer as its payload", () => {
    const bytes = Uint8Array.of(7, 7);
    const message = new LocalMessage(onward, back, bytes);
    expect(message.parts).toBeUndefined();
    expect(message.payload).toBe(bytes);
    expect(message.payloadLength).toBe(2);
  });
});
