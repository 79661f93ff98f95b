import { describeType, looksLikeNode } from "@hopwire/runtime";
import { InvalidOptionError } from "../errors.js";
import { isIdentifier } from "./identifier.js";
import { IDENTITY_EXPORT_FORMAT } from "./identity-export.js";
import { Identity } from "./identity.js";

/** How a public function names what it was given, e.g. "createSecureChannel" and "identity". */
export interface ArgumentName {
  /** The public function, as the caller wrote it: "createSecureChannel". */
  readonly what: string;
  /** The argument or option: "identity", "options.identity". */
  readonly argument?: string;
  /** The call's shape, for arguments given in the wrong order: "createSecureChannel(node, identity, route, options?)". */
  readonly usage?: string;
}

/** Where an Identity comes from, for messages. */
const MAKE_ONE = "createIdentity(), await loadIdentity(path) or importIdentity(data)";

/**
 * Checks that `value`, given to a public function as its identity, is an {@link Identity},
 * and throws an InvalidOptionError naming the function and the argument otherwise, saying
 * what was passed instead: nothing, a node (arguments swapped), an exported identity (plain
 * data: `importIdentity(data)` makes it an Identity), an identifier, a Promise, or
 * "a number" and the like. It never quotes the value (an exported identity holds a secret key).
 *
 * For libraries that take an identity from their users (the relay's `createRemoteRelay`
 * does), so that a bad one fails at the call, not inside a handshake later.
 *
 * An identity made by another copy of this package (two versions installed) passes: it
 * signs and names itself the same way. `exportIdentity` alone needs one of its own copy's.
 */
export function assertIdentity(value: unknown, name: ArgumentName | string): asserts value is Identity {
  if (value instanceof Identity || isForeignIdentity(value)) return;
  throw identityError(value, typeof name === "string" ? { what: name } : name);
}

/** assertIdentity for functions that read the identity's secret key: an Identity of this copy of the package only. */
export function assertOwnIdentity(value: unknown, name: ArgumentName | string): asserts value is Identity {
  if (value instanceof Identity) return;
  const n = typeof name === "string" ? { what: name } : name;
  if (isForeignIdentity(value)) {
    throw new InvalidOptionError(
      `${n.what}: ${n.argument ?? "identity"} is an Identity made by another copy of @hopwire/secure-channel (two versions are installed); ` +
        "use that copy's functions with it, or install one version",
      { option: optionName(n.argument ?? "identity") },
    );
  }
  throw identityError(value, n);
}

function identityError(value: unknown, n: ArgumentName): InvalidOptionError {
  const argument = n.argument ?? "identity";
  const fail = (problem: string) => new InvalidOptionError(`${n.what}: ${problem}`, { option: optionName(argument) });
  if (value === undefined || value === null) return fail(`${argument} is ${String(value)}; pass an Identity: ${MAKE_ONE}`);
  if (looksLikeNode(value)) {
    return fail(`got a node where ${theArgument(argument)} goes${n.usage ? `; the arguments are ${n.usage}` : ""}`);
  }
  if (isPromiseLike(value)) return fail(`${argument} is a Promise; await it first (e.g. \`await loadIdentity(path)\`)`);
  if (isExportedIdentity(value)) {
    return fail(`${argument} is an exported identity (plain data, as exportIdentity() returns and identity files hold), not an Identity: pass importIdentity(data) instead`);
  }
  if (isIdentityJson(value)) {
    return fail(`${argument} is an identity's JSON form ({ identifier }), which holds no key; pass the Identity itself (${MAKE_ONE})`);
  }
  if (isIdentifier(value)) {
    return fail(`${argument} is an identifier, which names an identity but cannot act as one; pass the Identity itself (${MAKE_ONE})`);
  }
  if (value instanceof Uint8Array) return fail(`${argument} is bytes; a secret key becomes an Identity with identityFromSecretKey(secretKey)`);
  return fail(`${argument} must be an Identity (${MAKE_ONE}), got ${describeType(value)}${n.usage ? `; the arguments are ${n.usage}` : ""}`);
}

/** The error's `option`: "identity" for "options.identity", as other option errors name it. */
export function optionName(argument: string): string {
  return argument.replace(/^options\./, "");
}

/** "the identity", "options.identity". */
function theArgument(argument: string): string {
  return argument.includes(".") ? argument : `the ${argument}`;
}

/** An Identity from another copy of this package: an identifier, a public key and a sign method. */
export function isForeignIdentity(value: unknown): boolean {
  if (typeof value !== "object" || value === null) return false;
  const v = value as { identifier?: unknown; sign?: unknown; publicKey?: unknown };
  try {
    return isIdentifier(v.identifier) && typeof v.sign === "function" && v.publicKey instanceof Uint8Array;
  } catch {
    return false; // a getter that throws
  }
}

/** An Identity, or one of another copy of this package. */
export function isIdentityLike(value: unknown): boolean {
  return value instanceof Identity || isForeignIdentity(value);
}

function isPromiseLike(value: unknown): boolean {
  return (typeof value === "object" || typeof value === "function") && value !== null && typeof (value as { then?: unknown }).then === "function";
}

/** exportIdentity()'s output (or most of it): a format field, or a secret key beside an identifier. */
function isExportedIdentity(value: unknown): boolean {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return v.format === IDENTITY_EXPORT_FORMAT || (typeof v.secretKey === "string" && (typeof v.identifier === "string" || typeof v.publicKey === "string"));
}

/** `identity.toJSON()`, or that through JSON: `{ identifier }` alone. */
function isIdentityJson(value: unknown): boolean {
  if (typeof value !== "object" || value === null) return false;
  const keys = Object.keys(value);
  return keys.length === 1 && keys[0] === "identifier" && isIdentifier((value as { identifier: unknown }).identifier);
}
