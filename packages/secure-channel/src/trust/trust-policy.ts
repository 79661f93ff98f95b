import { describeType } from "@hopwire/runtime";
import { InvalidIdentifierError, InvalidOptionError } from "../errors.js";
import { isIdentifier, type Identifier } from "../identity/identifier.js";

/** What a trust policy learns about the peer, after its identity signature verified. */
export interface TrustContext {
  readonly identifier: Identifier;
  /** The peer's Ed25519 identity public key (a copy the policy may keep). */
  readonly publicKey: Uint8Array;
}

/**
 * Decides whether a secure channel may be established with an authenticated peer. Only
 * `true` (or a promise of `true`) grants trust; anything else, and any throw, refuses.
 */
export type TrustPolicy = (peer: TrustContext) => boolean | Promise<boolean>;

/** What the policies made here expect, for the error that refuses a peer: identifiers are public. */
const expectations = new WeakMap<TrustPolicy, string>();
/** Identifiers an error lists at most; "and N more" says the rest. */
const MAX_LISTED_IDENTIFIERS = 3;

/**
 * What `policy` expected, if it says (trustIdentifier, trustIdentifiers): "expected I…",
 * "expected one of: I…, I…, I… and 2 more". Undefined for trustCustom and other functions.
 */
export function trustExpectation(policy: TrustPolicy): string | undefined {
  return expectations.get(policy);
}

/** Trusts every peer that proves its identity (authentication without authorization). */
export function trustEveryone(): TrustPolicy {
  return () => true;
}

/**
 * Whom trustIdentifier and trustIdentifiers take: an identifier (a string, validated at the
 * call), or anything that names one in its `identifier` field: an Identity (yours or a
 * peer's), a TrustContext, an exported identity (only the identifier is read).
 */
export type IdentifierLike = Identifier | string | { readonly identifier: Identifier | string };

/**
 * Trusts exactly one identifier; validated now, not at handshake time. Takes the identifier
 * or an Identity (`trustIdentifier(alice)` and `trustIdentifier(alice.identifier)` alike).
 */
export function trustIdentifier(identifier: IdentifierLike): TrustPolicy {
  const trusted = identifierArgument(identifier, "trustIdentifier");
  const policy: TrustPolicy = (peer) => peer.identifier === trusted;
  expectations.set(policy, `expected ${trusted}`);
  return policy;
}

/**
 * Trusts a fixed set of identifiers (or Identities), copied now: later changes to
 * `identifiers` do not apply. Takes a list (an array, a Set, any iterable) or a single
 * identifier or Identity, as a list of one. An empty list is an InvalidOptionError: it would
 * trust no one (to refuse everyone on purpose, use `trustCustom(() => false)`), and so is
 * anything that is neither a list nor an identifier (`option: "identifiers"`).
 */
export function trustIdentifiers(identifiers: Iterable<IdentifierLike> | IdentifierLike): TrustPolicy {
  const trusted = new Set<string>();
  for (const identifier of listOfIdentifiers(identifiers)) trusted.add(identifierArgument(identifier, "trustIdentifiers"));
  if (trusted.size === 0) {
    throw new InvalidOptionError(
      "trustIdentifiers: the list of identifiers is empty, and an empty list trusts no one (every peer would be refused); " +
        "pass at least one identifier or Identity, or trustCustom(() => false) to refuse everyone on purpose",
      { option: "identifiers" },
    );
  }
  const policy: TrustPolicy = (peer) => trusted.has(peer.identifier);
  expectations.set(policy, expectationOf([...trusted]));
  return policy;
}

function expectationOf(trusted: readonly string[]): string {
  if (trusted.length === 1) return `expected ${trusted[0]}`;
  const listed = trusted.slice(0, MAX_LISTED_IDENTIFIERS).join(", ");
  const more = trusted.length - MAX_LISTED_IDENTIFIERS;
  return `expected one of: ${listed}${more > 0 ? ` and ${more} more` : ""}`;
}

/**
 * Wraps an application decision. The wrapper turns any answer other than exactly `true`
 * into a refusal, so a truthy value returned by mistake ("yes", 1, an object) never trusts.
 * `decide` that is no function is an InvalidOptionError (`option: "decide"`) at the call.
 */
export function trustCustom(decide: (peer: TrustContext) => boolean | Promise<boolean>): TrustPolicy {
  // Checked now: otherwise every handshake threw inside the policy, and every peer was refused.
  if (typeof decide !== "function") {
    throw new InvalidOptionError(`trustCustom: expected a function (peer) => boolean | Promise<boolean>, got ${describeType(decide)}`, { option: "decide" });
  }
  return async (peer) => (await decide(peer)) === true;
}

/**
 * trustIdentifiers' argument as a list. One identifier (a string, whose characters were
 * iterated, each refused as an identifier "I") or one Identity is a list of one.
 */
function listOfIdentifiers(value: unknown): Iterable<unknown> {
  if (typeof value === "string") return [value];
  if (typeof value === "object" && value !== null) {
    if (typeof (value as { [Symbol.iterator]?: unknown })[Symbol.iterator] === "function") return value as Iterable<unknown>;
    if ("identifier" in value) return [value];
  }
  throw new InvalidOptionError(
    `trustIdentifiers: expected a list (an array, a Set…) of identifiers or Identities, or a single one; got ${describeType(value)}`,
    { option: "identifiers" },
  );
}

/**
 * The identifier `value` names: a valid identifier string, or the `identifier` of an
 * Identity (or anything with a valid one). Anything else is an InvalidIdentifierError that
 * says what was passed and what to pass, never quoting an object (an exported identity
 * holds a secret key).
 */
function identifierArgument(value: unknown, what: string): Identifier {
  if (typeof value === "string") {
    if (isIdentifier(value)) return value;
    // parseIdentifier's message, naming the call.
    throw new InvalidIdentifierError(`${what}: invalid identifier ${JSON.stringify(value).slice(0, 80)} (expected "I" followed by 64 lowercase hex digits)`);
  }
  const named = typeof value === "object" && value !== null ? (value as { identifier?: unknown }).identifier : undefined;
  if (isIdentifier(named)) return named;
  const got =
    named !== undefined
      ? `an object whose identifier is not one (${typeof named === "string" ? JSON.stringify(named).slice(0, 80) : describeType(named)})`
      : describeType(value);
  throw new InvalidIdentifierError(`${what}: expected an identifier ("I" followed by 64 lowercase hex digits) or an Identity, got ${got}`);
}
