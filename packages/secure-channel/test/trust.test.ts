// Trust policy helpers.
import { describe, expect, it } from "vitest";
import { InvalidIdentifierError, InvalidOptionError } from "../dist/errors.js";
import { parseIdentifier } from "../dist/identity/identifier.js";
import { exportIdentity } from "../dist/identity/identity-export.js";
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

  it("trustIdentifier and trustIdentifiers take an Identity as well as its identifier", async () => {
    const policy = trustIdentifier(alice);
    expect(await policy(peer(alice))).toBe(true);
    expect(await policy(peer(bob))).toBe(false);
    const both = trustIdentifiers([alice, bob.identifier]);
    expect(await both(peer(alice))).toBe(true);
    expect(await both(peer(bob))).toBe(true);
    expect(await both(peer(createIdentity()))).toBe(false);
    // Anything with a valid identifier: a peer's TrustContext, an exported identity (only its identifier is read).
    expect(await trustIdentifier(peer(bob))(peer(bob))).toBe(true);
    expect(await trustIdentifiers([exportIdentity(bob)])(peer(bob))).toBe(true);
  });

  it("anything else says what was passed and what to pass, without quoting what only looks valid", () => {
    const error = (() => {
      try {
        trustIdentifier(42 as never);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(InvalidIdentifierError);
    expect((error as Error).message).toBe('trustIdentifier: expected an identifier ("I" followed by 64 lowercase hex digits) or an Identity, got a number');
    expect(() => trustIdentifiers([{ identifier: "Inope" }])).toThrow(
      'trustIdentifiers: expected an identifier ("I" followed by 64 lowercase hex digits) or an Identity, got an object whose identifier is not one ("Inope")',
    );
    expect(() => trustIdentifier(null as never)).toThrow(/got null$/);
    // parseIdentifier takes strings only: an Identity is not quoted as String(identity) (its identifier, which looks valid).
    const parsed = (() => {
      try {
        parseIdentifier(alice as never);
      } catch (e) {
        return e as Error;
      }
    })();
    expect(parsed).toBeInstanceOf(InvalidIdentifierError);
    expect(parsed!.message).not.toContain(alice.identifier);
    expect(parsed!.message).toContain("pass its .identifier");
  });

  it("trustIdentifiers([]) is an InvalidOptionError: an empty list would trust no one", () => {
    for (const empty of [[], new Set<string>()]) {
      const error = (() => {
        try {
          trustIdentifiers(empty);
        } catch (e) {
          return e;
        }
      })();
      expect(error).toBeInstanceOf(InvalidOptionError);
      expect(error).toMatchObject({ code: "OPTION_INVALID", option: "identifiers" });
      expect((error as Error).message).toMatch(/^trustIdentifiers: the list of identifiers is empty, and an empty list trusts no one/);
    }
  });

  it("trustIdentifiers takes one identifier or Identity as a list of one; anything else that is no list is an InvalidOptionError naming it", async () => {
    // A string was iterated: each character refused as an identifier ("I"), naming no function.
    const one = trustIdentifiers(alice.identifier);
    expect(await one(peer(alice))).toBe(true);
    expect(await one(peer(bob))).toBe(false);
    expect(await trustIdentifiers(bob)(peer(bob))).toBe(true);
    expect(await trustIdentifiers(exportIdentity(bob))(peer(bob))).toBe(true);
    expect(() => trustIdentifiers("Inope")).toThrow(
      new InvalidIdentifierError('trustIdentifiers: invalid identifier "Inope" (expected "I" followed by 64 lowercase hex digits)'),
    );
    expect(() => trustIdentifier("Inope")).toThrow(/^trustIdentifier: invalid identifier "Inope"/);
    // These threw "TypeError: identifiers is not iterable".
    for (const [bad, shown] of [[5, "a number"], [null, "null"], [undefined, "undefined"], [{}, "an object"], [() => alice.identifier, "a function"]] as const) {
      const error = (() => {
        try {
          trustIdentifiers(bad as never);
        } catch (e) {
          return e;
        }
      })();
      expect(error).toBeInstanceOf(InvalidOptionError);
      expect(error).toMatchObject({
        option: "identifiers",
        message: `trustIdentifiers: expected a list (an array, a Set…) of identifiers or Identities, or a single one; got ${shown}`,
      });
    }
  });

  it("trustCustom takes a function only, at the call (otherwise every peer was refused later)", () => {
    for (const [bad, shown] of [[undefined, "undefined"], [true, "a boolean"], ["yes", "a string"], [{}, "an object"]] as const) {
      expect(() => trustCustom(bad as never)).toThrow(InvalidOptionError);
      expect(() => trustCustom(bad as never)).toThrow(
        expect.objectContaining({ option: "decide", message: `trustCustom: expected a function (peer) => boolean | Promise<boolean>, got ${shown}` }),
      );
    }
  });

  it("trustCustom trusts only an exact true, sync or async", async () => {
    expect(await trustCustom(() => true)(peer(alice))).toBe(true);
    expect(await trustCustom(async (p) => p.identifier === bob.identifier)(peer(bob))).toBe(true);
    expect(await trustCustom(() => "yes" as unknown as boolean)(peer(alice))).toBe(false);
    expect(await trustCustom(() => 1 as unknown as boolean)(peer(alice))).toBe(false);
    expect(await trustCustom(async () => false)(peer(alice))).toBe(false);
  });
});
