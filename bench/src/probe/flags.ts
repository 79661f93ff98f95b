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
