// A one-liner's flags become a configuration (commands/node.ts), which the configuration's
// parser checks: its errors name the configuration's keys ("secureChannelListeners[0].trust[0]").
// On the command line they name the flag that gave the value, and the value itself.
import { ConfigError, formatPath } from "../errors.js";
import { IDENTIFIER_HINT } from "../names.js";

/** Which flag gave the value at each configuration path (a path and everything under it). */
export type FlagsByPath = Readonly<Record<string, string>>;

/** The source a one-liner's configuration errors name, where a file's name its path. */
export const COMMAND_LINE = "command line";

/**
 * What a one-liner sets itself, not from a flag, as its errors may name it (another key's
 * problem that points at it: "the address "api" is already taken by secureChannelListeners[0].address").
 */
const SET_BY_THE_COMMAND: Readonly<Record<string, string>> = {
  "secureChannelListeners[0].address": `the command's own secure channel listener "api"`,
};

/** `error` (from parsing a one-liner's configuration `raw`) in the terms of its flags; itself if its key came from no flag. */
export function inFlagTerms(error: ConfigError, raw: unknown, flags: FlagsByPath): ConfigError {
  if (error.path === undefined || error.problem === undefined) return error;
  const path = formatPath(error.path);
  const key = Object.keys(flags)
    .filter((k) => path === k || path.startsWith(`${k}[`) || path.startsWith(`${k}.`))
    .sort((a, b) => b.length - a.length)[0];
  if (key === undefined) return error;
  const flag = flags[key]!;
  const value = valueAt(raw, error.path);
  return new ConfigError(`${COMMAND_LINE}: ${flag}: ${reworded(otherKeysNamed(error.problem, flags), flag, value)}`, { cause: error });
}

/** The other keys a problem names (as formatted paths), in the command's terms. */
function otherKeysNamed(problem: string, flags: FlagsByPath): string {
  let text = problem;
  // Only paths into a list ("relays[0].at"): a bare key such as "identity" is also a plain word in problems.
  for (const [path, words] of Object.entries({ ...SET_BY_THE_COMMAND, ...flags })) if (path.includes("[")) text = text.split(path).join(words);
  return text;
}

/** The configuration file's advice, as the command line says it; the value named if the problem does not name it. */
function reworded(problem: string, flag: string, value: unknown): string {
  const fileHint = /; an identity file is written identity: \{ file: .* \}$/;
  const wasFile = fileHint.test(problem);
  // A flag's value is named, with its own hint below, in place of the file's.
  let text = problem.replace('expected a name from "connections" or "host:port"', "expected host:port").replace(fileHint, "").replace(IDENTIFIER_HINT, "");
  if (typeof value === "string" && !/\bgot\b/.test(text) && !text.includes(JSON.stringify(value))) text += `, got ${JSON.stringify(value)}`;
  if (wasFile) text += ` (${flag} takes the name of an identity in the store: hopwire identity list)`;
  if (typeof value === "string" && text.startsWith("expected an identifier") && value === "") {
    // `--allow bob=$(hopwire identity show bob)` where that command failed (no such identity, another --home).
    text += ` (an empty value: did the command that should print it, such as $(hopwire identity show <name>), fail? Its error is above)`;
  } else if (typeof value === "string" && text.startsWith("expected an identifier") && !value.startsWith("I")) {
    text += ` (if that is an identity's name: hopwire identity show ${value} prints its identifier)`;
  }
  return text;
}

/** The value at `path` (keys and indexes) in `raw`, if there is one. */
function valueAt(raw: unknown, path: readonly (string | number)[]): unknown {
  let at: unknown = raw;
  for (const part of path) {
    if (at === null || typeof at !== "object" || !Object.hasOwn(at, part)) return undefined;
    at = (at as Record<string | number, unknown>)[part];
  }
  return at;
}
