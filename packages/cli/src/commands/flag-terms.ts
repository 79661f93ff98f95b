// A one-liner's flags become a configuration (commands/node.ts), which the configuration's
// parser checks: its errors name the configuration's keys ("secureChannelListeners[0].trust[0]").
// On the command line they name the flag that gave the value, and the value itself.
import { ConfigError } from "../errors.js";

/** Which flag gave the value at each configuration path (a path and everything under it). */
export type FlagsByPath = Readonly<Record<string, string>>;

const SOURCE = "command line";

/** `error` (from parsing a one-liner's configuration `raw`) in the terms of its flags; itself if its key came from no flag. */
export function inFlagTerms(error: ConfigError, raw: unknown, flags: FlagsByPath): ConfigError {
  const match = /^command line: (\S+): (.*)$/s.exec(error.message);
  if (match === null) return error;
  const [, path, problem] = match as unknown as [string, string, string];
  const key = Object.keys(flags)
    .filter((k) => path === k || path.startsWith(`${k}[`) || path.startsWith(`${k}.`))
    .sort((a, b) => b.length - a.length)[0];
  if (key === undefined) return error;
  const flag = flags[key]!;
  const value = valueAt(raw, path);
  return new ConfigError(`${SOURCE}: ${flag}: ${reworded(problem, flag, value)}`, { cause: error });
}

/** The configuration file's advice, as the command line says it; the value named if the problem does not name it. */
function reworded(problem: string, flag: string, value: unknown): string {
  const fileHint = /; an identity file is written identity: \{ file: .* \}$/;
  const wasFile = fileHint.test(problem);
  let text = problem.replace('expected a name from "connections" or "host:port"', "expected host:port").replace(fileHint, "");
  if (typeof value === "string" && !/\bgot\b/.test(text) && !text.includes(JSON.stringify(value))) text += `, got ${JSON.stringify(value)}`;
  if (wasFile) text += ` (${flag} takes the name of an identity in the store: hopwire identity list)`;
  if (typeof value === "string" && text.startsWith("expected an identifier") && !value.startsWith("I")) {
    text += ` (if that is an identity's name: hopwire identity show ${value} prints its identifier)`;
  }
  return text;
}

/** The value at a formatted path ("a.b[0].c") in `raw`, if there is one. */
function valueAt(raw: unknown, path: string): unknown {
  let at: unknown = raw;
  for (const part of path.match(/[^.[\]]+/g) ?? []) {
    if (at === null || typeof at !== "object") return undefined;
    at = (at as Record<string, unknown>)[part];
  }
  return at;
}
