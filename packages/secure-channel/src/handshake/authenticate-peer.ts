import type { CryptoProvider } from "../crypto/provider.js";
import { InvalidIdentitySignatureError, TrustPolicyError, UntrustedIdentityError } from "../errors.js";
import { identifierOf, type Identifier } from "../identity/identifier.js";
import { trustExpectation, type TrustPolicy } from "../trust/trust-policy.js";
import { decodeIdentityPayload, verifyIdentityPayload } from "./identity-payload.js";

export interface AuthenticatedPeer {
  readonly identifier: Identifier;
  readonly publicKey: Uint8Array;
}

/**
 * The three checks on a peer's identity payload, in order, each failing with its own
 * error: the payload parses (MalformedHandshakePayloadError), its signature vouches for
 * the Noise static key Noise just authenticated (InvalidIdentitySignatureError), and the
 * trust policy accepts the identifier (UntrustedIdentityError / TrustPolicyError).
 */
export async function authenticatePeer(
  payloadBytes: Uint8Array,
  noiseStaticPublicKey: Uint8Array,
  trustPolicy: TrustPolicy,
  provider: CryptoProvider,
): Promise<AuthenticatedPeer> {
  const payload = decodeIdentityPayload(payloadBytes);
  if (!verifyIdentityPayload(payload, noiseStaticPublicKey, provider)) {
    throw new InvalidIdentitySignatureError();
  }
  const identifier = identifierOf(payload.identityPublicKey, provider);
  let trusted: boolean;
  try {
    trusted = (await trustPolicy({ identifier, publicKey: payload.identityPublicKey.slice() })) === true;
  } catch (cause) {
    throw new TrustPolicyError(`trust policy failed while checking ${identifier}`, { cause, identifier });
  }
  if (!trusted) {
    const expected = trustExpectation(trustPolicy); // only identifiers, which are public
    throw new UntrustedIdentityError(`peer ${identifier} is not trusted by the trust policy${expected === undefined ? "" : `: ${expected}`}`, { identifier });
  }
  return { identifier, publicKey: payload.identityPublicKey };
}
