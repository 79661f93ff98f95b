import { homedir } from "node:os";
import { join } from "node:path";

/** The environment variable that overrides the hopwire home directory. */
export const HOPWIRE_HOME_ENV = "HOPWIRE_HOME";

/**
 * Where hopwire keeps its state: `--home`, else `$HOPWIRE_HOME`, else `~/.hopwire`.
 * Identities live in `<home>/identities/<name>.json` (mode 0600).
 */
export function hopwireHome(flag?: string): string {
  return flag ?? process.env[HOPWIRE_HOME_ENV] ?? join(homedir(), ".hopwire");
}

/** The directory of named identities under `home`. */
export function identitiesDir(home: string): string {
  return join(home, "identities");
}

/** The file of the identity called `name` under `home`. */
export function identityFile(home: string, name: string): string {
  return join(identitiesDir(home), `${name}.json`);
}
