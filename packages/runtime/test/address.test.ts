import { describe, expect, it } from "vitest";
import { Address, InvalidAddressError, LOCAL, toAddress } from "@hopwire/runtime";

describe("Address", () => {
  it("parses a value without # as a local address", () => {
    const a = Address.parse("echoer");
    expect(a.type).toBe(LOCAL);
    expect(a.value).toBe("echoer");
    expect(a.isLocal).toBe(true);
    expect(a.key).toBe("echoer");
    expect(a.toString()).toBe("0#echoer");
  });

  it("parses type#value and keeps # inside the value", () => {
    const a = Address.parse("1#127.0.0.1:4000");
    expect([a.type, a.value, a.isLocal, a.key]).toEqual([1, "127.0.0.1:4000", false, "1#127.0.0.1:4000"]);
    expect(Address.parse("0#a#b").value).toBe("a#b");
    expect(Address.parse("  2#x ").toString()).toBe("2#x");
  });

  it("round-trips through toString", () => {
    for (const text of ["0#app", "1#localhost:3000", "255#z"]) expect(Address.parse(text).toString()).toBe(text);
    expect(Address.parse(Address.parse("echoer").toString()).equals(Address.parse("echoer"))).toBe(true);
  });

  it("rejects malformed addresses with InvalidAddressError", () => {
    for (const bad of ["", "   ", "x#y", "1234#y", "1#", "256#v", "-1#v"]) {
      expect(() => Address.parse(bad), bad).toThrow(InvalidAddressError);
    }
    expect(() => new Address(1.5, "v")).toThrow(InvalidAddressError);
    expect(() => new Address(0, "")).toThrow(InvalidAddressError);
    expect(() => Address.parse(42 as unknown as string)).toThrow(InvalidAddressError);
    try {
      Address.parse("");
    } catch (error) {
      expect((error as InvalidAddressError).code).toBe("ADDRESS_INVALID");
    }
  });

  it("generates random local addresses of 32 hex characters", () => {
    const a = Address.random();
    const b = Address.random();
    expect(a.isLocal).toBe(true);
    expect(a.value).toMatch(/^[0-9a-f]{32}$/);
    expect(a.equals(b)).toBe(false);
  });

  it("makes ids of 32 random hex characters across refills of its random pool, after a prefix if given, and reply addresses alike", async () => {
    const { ephemeralHex32, isRandomHex32, randomHex32 } = await import("../dist/util/random-hex.js");
    const { ephemeralAddress } = await import("../dist/address/address.js");
    const ids = new Set<string>();
    for (let i = 0; i < 600; i++) ids.add(randomHex32()); // past 256 ids: the pool is drawn again
    for (let i = 0; i < 600; i++) ids.add(ephemeralHex32());
    expect(ids.size).toBe(1200);
    for (const id of ids) expect(isRandomHex32(id), id).toBe(true);
    const prefixed = randomHex32("fc");
    expect(prefixed).toMatch(/^fc[0-9a-f]{32}$/);
    expect(ephemeralAddress().isLocal).toBe(true);
    expect(ephemeralAddress().value).toMatch(/^[0-9a-f]{32}$/);
  });

  it("compares by type and value", () => {
    expect(new Address(0, "x").equals(Address.parse("x"))).toBe(true);
    expect(new Address(1, "x").equals(Address.parse("x"))).toBe(false);
    expect(JSON.stringify({ a: Address.parse("1#h:1") })).toBe('{"a":"1#h:1"}');
  });

  it("toAddress accepts strings and addresses", () => {
    const a = Address.parse("x");
    expect(toAddress(a)).toBe(a);
    expect(toAddress("1#h:1").equals(new Address(1, "h:1"))).toBe(true);
  });
});
