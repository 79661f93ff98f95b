import { access, mkdir, readdir } from "node:fs/promises";
import { createIdentity, loadIdentity, saveIdentity, type Identity } from "@hopwire/secure-channel";
import { IdentityStoreError } from "./errors.js";
import { identitiesDir, identityFile } from "./home.js";

const NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/** Creates and stores a new identity called `name`; refuses to overwrite one. */
export async function createNamedIdentity(home: string, name: string): Promise<Identity> {
  if (!NAME.test(name)) throw new IdentityStoreError(`Invalid identity name ${JSON.stringify(name)}: 1 to 64 letters, digits, '_', '-' or '.'`);
  await mkdir(identitiesDir(home), { recursive: true, mode: 0o700 });
  const file = identityFile(home, name);
  const exists = await access(file).then(() => true, () => false);
  if (exists) throw new IdentityStoreError(`An identity called "${name}" exists already (${file})`);
  const identity = createIdentity();
  await saveIdentity(identity, file);
  return identity;
}

/** Loads the identity called `name`. */
export async function loadNamedIdentity(home: string, name: string): Promise<Identity> {
  try {
    return await loadIdentity(identityFile(home, name));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") {
      throw new IdentityStoreError(`No identity called "${name}" in ${identitiesDir(home)} (create it with: hopwire identity create ${name})`);
    }
    throw new IdentityStoreError(`Cannot read the identity "${name}" (${identityFile(home, name)}): ${(error as Error).message}`, { cause: error });
  }
}

/** The names of the stored identities, sorted. */
export async function listIdentityNames(home: string): Promise<string[]> {
  try {
    const files = await readdir(identitiesDir(home));
    return files.filter((f) => f.endsWith(".json")).map((f) => f.slice(0, -".json".length)).sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
}
