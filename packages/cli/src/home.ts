import { homedir } from "node:os";
import { join } from "node:path";

/** The environment variable that overrides the hopwire home directory. */
export const HOPWIRE_HOME_ENV = "HOPWIRE_HOME";

/**
 * Where hopwire keeps its state: `--home`, else `$HOPWIRE_HOME`, else `~/.hopwire`.
 * Identities live in `<home>/identities/<name>.json` (mode 0600). An empty value counts as
 * unset: as a path it would be the working directory, where secret keys do not belong.
 */
export function hopwireHome(flag?: string): string {
  const fromEnv = process.env[HOPWIRE_HOME_ENV];
  return nonEmpty(flag) ?? nonEmpty(fromEnv) ?? join(homedir(), ".hopwire");
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value;
}

/** The directory of named identities under `home`. */
export function identitiesDir(home: string): string {
  return join(home, "identities");
}

/** The file of the identity called `name` under `home`. */
export function identityFile(home: string, name: string): string {
  return join(identitiesDir(home), `${name}.json`);
}
