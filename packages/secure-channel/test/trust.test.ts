// Trust policy helpers.
import { describe, expect, it } from "vitest";
import { InvalidIdentifierError } from "../dist/errors.js";
import { createIdentity } from "../dist/identity/identity.js";
import { trustCustom, trustEveryone, trustIdentifier, trustIdentifiers, type TrustContext } from "../dist/trust/trust-policy.js";

const alice = createIdentity();
const bob = createIdentity();
const peer = (identity: typeof alice): TrustContext => ({ identifier: identity.identifier, publicKey: identity.publicKey });

describe("trust policies", () => {
  it("trustEveryone trusts anyone", async () => {
    expect(await trustEveryone()(peer(alice))).toBe(true);
  });

  it("trustIdentifier trusts exactly one identifier and validates it up front", async () => {
    const policy = trustIdentifier(alice.identifier);
    expect(await policy(peer(alice))).toBe(true);
    expect(await policy(peer(bob))).toBe(false);
    expect(() => trustIdentifier("Inot-an-identifier")).toThrow(InvalidIdentifierError);
  });

  it("trustIdentifier takes String(identity): an identity prints as its identifier", async () => {
    const policy = trustIdentifier(String(alice));
    expect(await policy(peer(alice))).toBe(true);
    expect(await policy(peer(bob))).toBe(false);
    expect(await trustIdentifiers([`${alice}`, String(bob)])(peer(bob))).toBe(true);
  });

  it("trustIdentifiers snapshots its input", async () => {
    const list: string[] = [alice.identifier];
    const policy = trustIdentifiers(list);
    list.push(bob.identifier);
    expect(await policy(peer(alice))).toBe(true);
    expect(await policy(peer(bob))).toBe(false);
    expect(() => trustIdentifiers(["nope"])).toThrow(InvalidIdentifierError);
    expect(await trustIdentifiers(new Set([alice.identifier, bob.identifier]))(peer(bob))).toBe(true);
  });

  it("trustCustom trusts only an exact true, sync or async", async () => {
    expect(await trustCustom(() => true)(peer(alice))).toBe(true);
    expect(await trustCustom(async (p) => p.identifier === bob.identifier)(peer(bob))).toBe(true);
    expect(await trustCustom(() => "yes" as unknown as boolean)(peer(alice))).toBe(false);
    expect(await trustCustom(() => 1 as unknown as boolean)(peer(alice))).toBe(false);
    expect(await trustCustom(async () => false)(peer(alice))).toBe(false);
  });
});
