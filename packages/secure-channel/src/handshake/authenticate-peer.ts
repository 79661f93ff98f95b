import { TimeoutError } from "@hopwire/runtime";
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
  /** How long the policy may take to answer (the handshake's timeout); past it, TrustPolicyError. */
  policyTimeoutMs = Infinity,
): Promise<AuthenticatedPeer> {
  const payload = decodeIdentityPayload(payloadBytes);
  if (!verifyIdentityPayload(payload, noiseStaticPublicKey, provider)) {
    throw new InvalidIdentitySignatureError();
  }
  const identifier = identifierOf(payload.identityPublicKey, provider);
  let trusted: boolean;
  try {
    trusted = (await answerWithin(trustPolicy({ identifier, publicKey: payload.identityPublicKey.slice() }), policyTimeoutMs)) === true;
  } catch (cause) {
    throw new TrustPolicyError(`trust policy failed while checking ${identifier}`, { cause, identifier });
  }
  if (!trusted) {
    const expected = trustExpectation(trustPolicy); // only identifiers, which are public
    throw new UntrustedIdentityError(`peer ${identifier} is not trusted by the trust policy${expected === undefined ? "" : `: ${expected}`}`, { identifier });
  }
  return { identifier, publicKey: payload.identityPublicKey };
}

/**
 * The policy's answer, or a TimeoutError once `ms` have passed: a policy that never settles
 * (one asking a service that hangs) held the listener's handshake slot for good, and its
 * initiator waited out its own timeout with nothing said (a user trial). A late answer, or a
 * late rejection, is then no one's.
 */
function answerWithin<T>(answer: T | PromiseLike<T>, ms: number): Promise<T> {
  if (!isThenable(answer) || !Number.isFinite(ms)) return Promise.resolve(answer);
  const settled = Promise.resolve(answer);
  settled.catch(() => {});
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(`The trust policy did not answer within ${ms} ms (the handshake's timeout)`)), ms);
    timer.unref(); // a policy that never answers does not keep a stopped node's process alive
  });
  return Promise.race([settled, late]).finally(() => clearTimeout(timer));
}

function isThenable<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as { then?: unknown } | null)?.then === "function";
}
