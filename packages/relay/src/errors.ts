import { HopwireError, registerErrorClasses } from "@hopwire/runtime";

/**
 * Errors of @hopwire/relay: one class per condition, each with a stable `code`. The
 * refusal codes also travel in the service's reply, so a registrant gets the same class
 * the service decided on.
 */

/** Thrown when a relay service refuses a registration: the identity may not register that name. */
export class RelayRegistrationRefusedError extends HopwireError {
  override readonly code = "RELAY_REGISTRATION_REFUSED";
  constructor(message = "The relay service refused the registration", options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Thrown when a registration did not arrive over a secure channel, so its sender has no identity. */
export class RelayNotSecureError extends HopwireError {
  override readonly code = "RELAY_NOT_SECURE";
  constructor(message = "A relay registration must arrive over a secure channel", options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Thrown when a relay name is not 1 to 64 characters of letters, digits, `_`, `-` or `.`. */
export class RelayNameInvalidError extends HopwireError {
  override readonly code = "RELAY_NAME_INVALID";
  constructor(message = "Invalid relay name", options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Thrown when the relay service did not answer a registration or a heartbeat in time. */
export class RelayUnreachableError extends HopwireError {
  override readonly code = "RELAY_UNREACHABLE";
  constructor(message = "The relay service did not answer in time", options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Why a RemoteRelay stopped keeping its name: another registrant (an identity the policy allows) took it over. */
export class RelayReplacedError extends HopwireError {
  override readonly code = "RELAY_REPLACED";
  constructor(message = "Another registrant replaced this registration", options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Thrown by a RemoteRelay's methods after it was stopped. */
export class RelayStoppedError extends HopwireError {
  override readonly code = "RELAY_STOPPED";
  constructor(message = "The remote relay was stopped", options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * Why a relay service closed a registrant's connection that carries its forwarded traffic
 * (`forwardOver: "connection"`): it held bytes past its high-water mark and passed none on for
 * `connectionStallMs`, while the initiator connections that feed it waited.
 */
export class RelayRegistrantStalledError extends HopwireError {
  override readonly code = "RELAY_REGISTRANT_STALLED";
  constructor(message = "The registrant read nothing from its connection for too long", options?: { cause?: unknown }) {
    super(message, options);
  }
}

registerErrorClasses(
  RelayRegistrationRefusedError,
  RelayNotSecureError,
  RelayNameInvalidError,
  RelayUnreachableError,
  RelayReplacedError,
  RelayStoppedError,
  RelayRegistrantStalledError,
);

/** The refusal codes a service may send back, and the class each one is rebuilt as. */
export const REFUSAL_ERRORS = {
  RELAY_REGISTRATION_REFUSED: RelayRegistrationRefusedError,
  RELAY_NOT_SECURE: RelayNotSecureError,
  RELAY_NAME_INVALID: RelayNameInvalidError,
} as const;

/** A code the service may refuse a registration with. */
export type RefusalCode = keyof typeof REFUSAL_ERRORS;
