import { randomBytes } from "node:crypto";
import { AbortError, checkWaitOptions, describeValue, InvalidOptionError, optionKeys, readSmallFile } from "@hopwire/runtime";
import { chmod, rename, unlink, writeFile } from "node:fs/promises";
import { resolveCryptoProvider } from "../crypto/index.js";
import type { CryptoProvider, CryptoProviderName } from "../crypto/provider.js";
import { IdentityFileError, InvalidIdentityExportError } from "../errors.js";
import { exportIdentity, importIdentity } from "./identity-export.js";
import { assertOwnIdentity } from "./identity-argument.js";
import type { Identity } from "./identity.js";

/** Options of saveIdentity and loadIdentity: an AbortSignal (any other key is an InvalidOptionError). */
export interface IdentityFileOptions {
  readonly signal?: AbortSignal;
}

const FILE_OPTIONS = optionKeys<IdentityFileOptions>({ signal: true });

/** The most loadIdentity reads: saveIdentity writes about 300 bytes. */
export const MAX_IDENTITY_FILE_BYTES = 64 * 1024;

/**
 * Writes the identity (secret key included) as JSON readable by the owner only (0o600).
 * The file is written under a temporary name created with mode 0o600 and renamed into
 * place, so the secret never sits in a file with wider permissions (writeFile's `mode`
 * alone does nothing to an existing file) and readers never see half a file. A file that
 * cannot be written is an IdentityFileError naming the path, the Node error its `cause`.
 */
export async function saveIdentity(identity: Identity, path: string, options: IdentityFileOptions = {}): Promise<void> {
  assertOwnIdentity(identity, { what: "saveIdentity", usage: "saveIdentity(identity, path, options?)" });
  checkPath(path, "saveIdentity");
  checkWaitOptions(options, "saveIdentity options", FILE_OPTIONS);
  const text = `${JSON.stringify(exportIdentity(identity), null, 2)}\n`;
  const temporary = `${path}.${randomBytes(6).toString("hex")}.tmp`;
  try {
    await writeFile(temporary, text, { mode: 0o600, flag: "wx", signal: options.signal });
    await chmod(temporary, 0o600); // the umask may have removed the owner's bits
    await rename(temporary, path);
  } catch (error) {
    await unlink(temporary).catch(() => undefined);
    throw fileError("saveIdentity", "write", path, error, options.signal);
  }
}

/**
 * Reads a file written by saveIdentity() and imports it (with all of importIdentity's checks).
 * A file that cannot be read is an IdentityFileError naming the path, the Node error its `cause`;
 * one that is not a regular file (a FIFO, a device) or holds more than MAX_IDENTITY_FILE_BYTES
 * is one too, without reading it (reason NOT_REGULAR_FILE, FILE_TOO_LARGE).
 */
export async function loadIdentity(path: string, providerOrName?: CryptoProvider | CryptoProviderName, options: IdentityFileOptions = {}): Promise<Identity> {
  checkPath(path, "loadIdentity");
  checkWaitOptions(options, "loadIdentity options", FILE_OPTIONS);
  const provider = resolveCryptoProvider(providerOrName, "loadIdentity"); // before the file is read
  let text: string;
  try {
    text = await readIdentityFile(path, options.signal);
  } catch (error) {
    if (error instanceof IdentityFileError) throw error;
    throw fileError("loadIdentity", "read", path, error, options.signal);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    // No cause: the parser's message may quote file content, i.e. the secret key.
    throw new InvalidIdentityExportError(`identity file ${path} is not valid JSON`);
  }
  return importIdentity(data, provider);
}

/**
 * The identity file's text, from a regular file of at most MAX_IDENTITY_FILE_BYTES: a
 * device (/dev/zero) or a huge file was read whole into memory before anything looked at it.
 */
async function readIdentityFile(path: string, signal: AbortSignal | undefined): Promise<string> {
  const bytes = await readSmallFile(path, MAX_IDENTITY_FILE_BYTES, signal);
  if ("problem" in bytes) {
    const quoted = JSON.stringify(path);
    throw bytes.problem === "not-regular"
      ? new IdentityFileError(`loadIdentity: the identity file ${quoted} is ${bytes.kind}, not a regular file`, { path, reason: "NOT_REGULAR_FILE" })
      : new IdentityFileError(`loadIdentity: the identity file ${quoted} holds more than ${MAX_IDENTITY_FILE_BYTES} bytes: it is no identity file`, { path, reason: "FILE_TOO_LARGE" });
  }
  const text = bytes.toString("utf8");
  bytes.fill(0); // the secret key
  return text;
}

/** Refuses a path that is no file path string at the call (it read "cannot read the identity file undefined"). */
function checkPath(path: unknown, what: string): void {
  if (typeof path !== "string" || path === "") {
    throw new InvalidOptionError(`${what}: path must be a file path string, got ${describeValue(path)}`, { option: "path" });
  }
}

/**
 * A Node file error as a Hopwire error: an AbortError when `signal` stopped it, else an
 * IdentityFileError with the path, the Node code as `reason` and the Node error as `cause`.
 */
function fileError(what: string, doing: "read" | "write", path: string, error: unknown, signal: AbortSignal | undefined): Error {
  if (signal?.aborted) return new AbortError(`${what} of ${path} was aborted`, { cause: signal.reason });
  const code = (error as { code?: unknown } | null)?.code;
  const detail = error instanceof Error ? error.message : String(error);
  return new IdentityFileError(`${what}: cannot ${doing} the identity file ${JSON.stringify(path)}: ${detail}`, {
    path,
    ...(typeof code === "string" ? { reason: code } : {}),
    cause: error,
  });
}
