// Why a relay registration failed at start-up, in the command's terms: the flag to change,
// on this node or on the relay node, rather than the library's sentence alone.
import { SecureChannelHandshakeError, UntrustedIdentityError, type Identity } from "@hopwire/secure-channel";
import { RelayRegistrationRefusedError } from "@hopwire/relay";

/** What the registration was: the relay name, the relay node's address and this node's identity. */
export interface Registration {
  readonly name: string;
  readonly at: string;
  readonly identity: Identity;
}

/** `error` from createRemoteRelay, reworded where the command line has a fix for it; otherwise itself. */
export function inRelayTerms(error: unknown, r: Registration): unknown {
  if (error instanceof SecureChannelHandshakeError && error.cause instanceof UntrustedIdentityError) {
    const peer = error.cause.identifier ?? "an identity";
    // The policy's own words say which identities it expected: worth keeping.
    const expected = /expected (.+)$/.exec(error.cause.message)?.[1];
    const pins = expected === undefined ? "" : `, which expects ${expected}`;
    return new SecureChannelHandshakeError(
      `The relay node at ${r.at} answered as ${peer}, an identity this node does not trust (--relay-trust, relays[].trust${pins})`,
      { cause: error },
    );
  }
  if (error instanceof RelayRegistrationRefusedError) {
    return new RelayRegistrationRefusedError(
      `${error.message}: the relay node lets it with --allow ${r.name}=${r.identity.identifier} (relayService.allow in its configuration)`,
      { cause: error },
    );
  }
  return error;
}
