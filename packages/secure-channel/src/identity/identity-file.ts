import { randomBytes } from "node:crypto";
import { AbortError, checkWaitOptions, optionKeys, readAtMost } from "@hopwire/runtime";
import { constants, type Stats } from "node:fs";
import { chmod, open, rename, unlink, writeFile } from "node:fs/promises";
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
 * Opens without blocking: readFile's open() of a FIFO with no writer waits for one on a
 * libuv thread nothing can cancel (the process then cannot even exit on a signal). On a
 * regular file the flag changes nothing. (Windows has no O_NONBLOCK: there, no flag.)
 */
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0);

/**
 * The identity file's text, from a regular file of at most MAX_IDENTITY_FILE_BYTES: a
 * device (/dev/zero) or a huge file was read whole into memory before anything looked at it.
 * A directory fails as it did with readFile (EISDIR, from the read).
 */
async function readIdentityFile(path: string, signal: AbortSignal | undefined): Promise<string> {
  signal?.throwIfAborted();
  const handle = await open(path, OPEN_FLAGS);
  try {
    const stats = await handle.stat();
    if (!stats.isFile() && !stats.isDirectory()) {
      throw new IdentityFileError(`loadIdentity: the identity file ${JSON.stringify(path)} is ${fileKind(stats)}, not a regular file`, { path, reason: "NOT_REGULAR_FILE" });
    }
    const bytes = stats.size > MAX_IDENTITY_FILE_BYTES ? undefined : await readAtMost(handle, MAX_IDENTITY_FILE_BYTES);
    signal?.throwIfAborted();
    if (bytes === undefined) {
      throw new IdentityFileError(`loadIdentity: the identity file ${JSON.stringify(path)} holds more than ${MAX_IDENTITY_FILE_BYTES} bytes: it is no identity file`, {
        path,
        reason: "FILE_TOO_LARGE",
      });
    }
    const text = bytes.toString("utf8");
    bytes.fill(0); // the secret key
    return text;
  } finally {
    await handle.close();
  }
}

/** What a file that is not a regular one is, for a message. */
function fileKind(stats: Stats): string {
  if (stats.isFIFO()) return "a FIFO";
  if (stats.isCharacterDevice()) return "a character device";
  if (stats.isBlockDevice()) return "a block device";
  if (stats.isSocket()) return "a socket";
  return "a special file";
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
