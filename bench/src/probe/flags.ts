// What the CPU probes share: their command-line flags and their IPC waits.
/** The probes' `--name value` flags (a flag with no value is "1"), as strings by name. */
export function parseFlags(argv: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]!;
    if (!k.startsWith("--")) continue;
    const v = argv[i + 1];
    if (v === undefined || v.startsWith("--")) out[k.slice(2)] = "1";
    else {
      out[k.slice(2)] = v;
      i++;
    }
  }
  return out;
}

/** What a probe's flag takes: a count (a whole number, 1 or more), a number (finite, 0 or more), nothing (a switch), any text, or one of a list. */
export type FlagKind = "count" | "number" | "switch" | "text" | readonly string[];

/**
 * `parseFlags`, checked against what the probe takes: an unknown flag (a misspelt `--reps`
 * for `--rounds` ran with the default), a number that is none (`--n abc` hung for ever), or
 * a value not on a flag's list (`--case bogus` ran some case and exited 0) is one line on
 * stderr, with `usage`, and exit code 2.
 */
export function checkedFlags(argv: string[], spec: Readonly<Record<string, FlagKind>>, usage: string): Record<string, string> {
  const flags = parseFlags(argv);
  const fail = (problem: string): never => {
    process.stderr.write(`error: ${problem}\n${usage}\n`);
    process.exit(2);
  };
  for (const [name, value] of Object.entries(flags)) {
    const kind = spec[name];
    if (kind === undefined) fail(`unknown flag --${name}; this probe takes ${Object.keys(spec).map((k) => `--${k}`).join(", ")}`);
    else if (kind === "number" && !(Number.isFinite(Number(value)) && Number(value) >= 0)) fail(`--${name} takes a number, got ${JSON.stringify(value)}`);
    // A count of 0 or 0.5 left a probe waiting for ever for a mark it never reached.
    else if (kind === "count" && !(Number.isSafeInteger(Number(value)) && Number(value) >= 1)) fail(`--${name} takes a whole number of at least 1, got ${JSON.stringify(value)}`);
    else if (Array.isArray(kind) && !kind.includes(value)) fail(`--${name} is one of ${kind.join(", ")}, got ${JSON.stringify(value)}`);
  }
  return flags;
}

/** Resolves with the next IPC message of type `t` from `child` (or, in a child, from the parent). */
export function nextMessage<T>(child: { on(e: "message", f: (m: { t: string }) => void): unknown; off(e: "message", f: (m: { t: string }) => void): unknown }, t: string): Promise<T> {
  return new Promise((resolve) => {
    const on = (m: { t: string }): void => {
      if (m.t !== t) return;
      child.off("message", on);
      resolve(m as T);
    };
    child.on("message", on);
  });
}
