import { parseIdentifier, type Identifier } from "../identity/identifier.js";

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

/** Trusts exactly one identifier; the string is validated now, not at handshake time. */
export function trustIdentifier(identifier: Identifier | string): TrustPolicy {
  const trusted = parseIdentifier(identifier);
  const policy: TrustPolicy = (peer) => peer.identifier === trusted;
  expectations.set(policy, `expected ${trusted}`);
  return policy;
}

/** Trusts a fixed set of identifiers, copied now: later changes to `identifiers` do not apply. */
export function trustIdentifiers(identifiers: Iterable<Identifier | string>): TrustPolicy {
  const trusted = new Set<string>();
  for (const identifier of identifiers) trusted.add(parseIdentifier(identifier));
  const policy: TrustPolicy = (peer) => trusted.has(peer.identifier);
  expectations.set(policy, expectationOf([...trusted]));
  return policy;
}

function expectationOf(trusted: readonly string[]): string {
  if (trusted.length === 0) return "it trusts no identifier (trustIdentifiers was given an empty list)";
  if (trusted.length === 1) return `expected ${trusted[0]}`;
  const listed = trusted.slice(0, MAX_LISTED_IDENTIFIERS).join(", ");
  const more = trusted.length - MAX_LISTED_IDENTIFIERS;
  return `expected one of: ${listed}${more > 0 ? ` and ${more} more` : ""}`;
}

/**
 * Wraps an application decision. The wrapper turns any answer other than exactly `true`
 * into a refusal, so a truthy value returned by mistake ("yes", 1, an object) never trusts.
 */
export function trustCustom(decide: (peer: TrustContext) => boolean | Promise<boolean>): TrustPolicy {
  return async (peer) => (await decide(peer)) === true;
}
