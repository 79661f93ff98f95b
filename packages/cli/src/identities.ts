import { access, readdir, stat } from "node:fs/promises";
import { createIdentity, IdentityFileError, loadIdentity, saveIdentity, type Identity } from "@hopwire/secure-channel";
import { IdentityStoreError } from "./errors.js";
import { identitiesDir, identityFile } from "./home.js";
import { makeDirectories } from "./make-directories.js";
import { nameProblem } from "./names.js";

/**
 * Refuses what is no name before it becomes a path: ".." was stored as the hidden file
 * "...json", and "../x" would be a file outside the identities directory.
 */
function checkIdentityName(name: string): void {
  const problem = nameProblem(name);
  if (problem !== undefined) throw new IdentityStoreError(`Invalid identity name ${JSON.stringify(name)}: ${problem}`);
}

/** Creates and stores a new identity called `name`; refuses to overwrite one. */
export async function createNamedIdentity(home: string, name: string): Promise<Identity> {
  checkIdentityName(name);
  const dir = identitiesDir(home);
  await makeDirectories(dir, 0o700).catch((error: unknown) => {
    throw new IdentityStoreError(`Cannot create the identities directory ${dir}: ${(error as Error).message} (choose another home with --home or HOPWIRE_HOME)`, { cause: error });
  });
  const file = identityFile(home, name);
  const exists = await access(file).then(() => true, () => false);
  if (exists) throw new IdentityStoreError(`An identity called "${name}" exists already (${file})`);
  const identity = createIdentity();
  await saveIdentity(identity, file);
  return identity;
}

/** How the identity loaders report what does not stop them. */
export interface IdentityLoadOptions {
  /**
   * Called with one line (no newline) when an identity file can be read by users other than
   * its owner (mode bits 0o077: it holds the secret key); the identity is used all the same.
   */
  warn?: (line: string) => void;
}

/** Loads the identity called `name`. */
export async function loadNamedIdentity(home: string, name: string, options: IdentityLoadOptions = {}): Promise<Identity> {
  checkIdentityName(name);
  const file = identityFile(home, name);
  let identity: Identity;
  try {
    identity = await loadIdentity(file);
  } catch (error) {
    if (error instanceof IdentityFileError && error.reason === "ENOENT") {
      throw new IdentityStoreError(`No identity called "${name}" in ${identitiesDir(home)} (create it with: hopwire identity create ${name})`);
    }
    throw new IdentityStoreError(`Cannot read the identity "${name}" (${file}): ${(error as Error).message}`, { cause: error });
  }
  await warnIfExposed(file, options.warn);
  return identity;
}

/** Loads the identity file `file` (errors as loadIdentity throws them), warning as loadNamedIdentity does. */
export async function loadIdentityFile(file: string, options: IdentityLoadOptions = {}): Promise<Identity> {
  const identity = await loadIdentity(file);
  await warnIfExposed(file, options.warn);
  return identity;
}

/**
 * Warns, as ssh does about a private key, when `file` is accessible to its group or others.
 * Not on Windows, where the mode bits say nothing about who may read a file.
 */
async function warnIfExposed(file: string, warn: IdentityLoadOptions["warn"]): Promise<void> {
  if (warn === undefined || process.platform === "win32") return;
  const mode = (await stat(file).catch(() => undefined))?.mode;
  if (mode === undefined || (mode & 0o077) === 0) return;
  const octal = `0${(mode & 0o777).toString(8)}`;
  warn(`warning: permissions ${octal} for the identity file ${file} are too open: it holds a secret key, and users other than its owner can access it (chmod 600 ${file})`);
}

/** The names of the stored identities, sorted. */
export async function listIdentityNames(home: string): Promise<string[]> {
  const dir = identitiesDir(home);
  try {
    const files = await readdir(dir);
    return files.filter((f) => f.endsWith(".json")).map((f) => f.slice(0, -".json".length)).sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw new IdentityStoreError(`Cannot read the identities directory ${dir}: ${(error as Error).message} (choose another home with --home or HOPWIRE_HOME)`, { cause: error });
  }
}
