import { describeValue } from "@hopwire/runtime";
import { equalBytes, fromHex, toHex } from "../bytes.js";
import { resolveCryptoProvider } from "../crypto/index.js";
import type { CryptoProvider, CryptoProviderName } from "../crypto/provider.js";
import { IdentityKeyMismatchError, InvalidIdentityExportError, UnsupportedIdentityVersionError } from "../errors.js";
import { assertOwnIdentity } from "./identity-argument.js";
import { identityFromSecretKey, secretKeyOf, type Identity } from "./identity.js";

/** The `format` field of an exported identity. */
export const IDENTITY_EXPORT_FORMAT = "hopwire-identity";
/** The `version` field of an exported identity this version writes and reads. */
export const IDENTITY_EXPORT_VERSION = 1;

/**
 * An identity as plain JSON-able data, version 1. `secretKey` is the UNENCRYPTED Ed25519
 * secret key (32-byte seed) in hex: whoever holds this object is the identity. Store it
 * like a private key (saveIdentity writes it with mode 0o600).
 */
export interface ExportedIdentity {
  readonly format: typeof IDENTITY_EXPORT_FORMAT;
  readonly version: typeof IDENTITY_EXPORT_VERSION;
  readonly identifier: string;
  /** Ed25519 public key, hex. */
  readonly publicKey: string;
  /** Ed25519 secret key (seed), hex, unencrypted. */
  readonly secretKey: string;
}

/** The identity, secret key included, as versioned plain data. */
export function exportIdentity(identity: Identity): ExportedIdentity {
  assertOwnIdentity(identity, "exportIdentity");
  const secretKey = secretKeyOf(identity);
  const exported: ExportedIdentity = {
    format: IDENTITY_EXPORT_FORMAT,
    version: IDENTITY_EXPORT_VERSION,
    identifier: identity.identifier,
    publicKey: toHex(identity.publicKey),
    secretKey: toHex(secretKey),
  };
  secretKey.fill(0);
  return exported;
}

/**
 * Rebuilds an identity from exportIdentity()'s output. Validates the shape, derives the
 * public key from the secret key and recomputes the identifier; both must match what the
 * object claims, so a tampered or mixed-up file is refused rather than trusted.
 */
export function importIdentity(data: unknown, providerOrName?: CryptoProvider | CryptoProviderName): Identity {
  const provider = resolveCryptoProvider(providerOrName, "importIdentity");
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    throw new InvalidIdentityExportError("identity export must be an object");
  }
  const record = data as Record<string, unknown>;
  if (record.format !== IDENTITY_EXPORT_FORMAT) {
    throw new InvalidIdentityExportError(`identity export must have format "${IDENTITY_EXPORT_FORMAT}"`);
  }
  if (record.version !== IDENTITY_EXPORT_VERSION) {
    throw new UnsupportedIdentityVersionError(`identity export version ${describeValue(record.version)} is not supported (expected ${IDENTITY_EXPORT_VERSION})`);
  }
  const secretKey = hexField(record, "secretKey");
  const publicKey = hexField(record, "publicKey");
  if (typeof record.identifier !== "string") throw new InvalidIdentityExportError('identity export field "identifier" must be a string');

  const identity = identityFromSecretKey(secretKey, provider);
  secretKey.fill(0);
  if (!equalBytes(identity.publicKey, publicKey)) {
    throw new IdentityKeyMismatchError("identity export: publicKey does not belong to secretKey");
  }
  if (identity.identifier !== record.identifier) {
    throw new IdentityKeyMismatchError("identity export: identifier does not match the public key");
  }
  return identity;
}

function hexField(record: Record<string, unknown>, field: "secretKey" | "publicKey"): Uint8Array {
  const value = record[field];
  const bytes = typeof value === "string" ? fromHex(value) : undefined;
  if (bytes === undefined || bytes.length !== 32) {
    throw new InvalidIdentityExportError(`identity export field "${field}" must be 64 hex digits`);
  }
  return bytes;
}
