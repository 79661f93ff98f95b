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

/** Trusts every peer that proves its identity (authentication without authorization). */
export function trustEveryone(): TrustPolicy {
  return () => true;
}

/** Trusts exactly one identifier; the string is validated now, not at handshake time. */
export function trustIdentifier(identifier: Identifier | string): TrustPolicy {
  const trusted = parseIdentifier(identifier);
  return (peer) => peer.identifier === trusted;
}

/** Trusts a fixed set of identifiers, copied now: later changes to `identifiers` do not apply. */
export function trustIdentifiers(identifiers: Iterable<Identifier | string>): TrustPolicy {
  const trusted = new Set<string>();
  for (const identifier of identifiers) trusted.add(parseIdentifier(identifier));
  return (peer) => trusted.has(peer.identifier);
}

/**
 * Wraps an application decision. The wrapper turns any answer other than exactly `true`
 * into a refusal, so a truthy value returned by mistake ("yes", 1, an object) never trusts.
 */
export function trustCustom(decide: (peer: TrustContext) => boolean | Promise<boolean>): TrustPolicy {
  return async (peer) => (await decide(peer)) === true;
}
