// Helpers for the CLI's tests: the `hopwire` bin as real child processes (each in its own
// process group, killed after every test by test/support/end-children.ts whatever happened),
// and runCli in the test's own process for the cases whose own process proves nothing more.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startChild, type Child } from "../../../test/support/children.js";
import { runCli } from "../dist/index.js";

// The node's process flags are the CLI's defaults in every test unless one sets them (a developer's
// shell may export HOPWIRE_NODE_FLAGS: src/relaunch.ts).
delete process.env.HOPWIRE_NODE_FLAGS;

/** The bin as npm links it (bin/hopwire.js, which imports the bundle). */
export const bin = fileURLToPath(new URL("../bin/hopwire.js", import.meta.url));

const homes: string[] = [];

/** A fresh hopwire home in the temporary directory, removed by `removeHomes`. */
export function newHome(): string {
  const home = mkdtempSync(join(tmpdir(), "hopwire-cli-"));
  homes.push(home);
  return home;
}

export function removeHomes(): void {
  for (const home of homes.splice(0)) rmSync(home, { recursive: true, force: true });
}

export type HopwireChild = Child & { stderr: () => string };

/**
 * `hopwire ...args` as a process, its stderr collected. `env` is added to the environment
 * the child inherits (the test forks run one file at a time, so setting it around the
 * synchronous spawn affects nothing else).
 */
export function hopwire(args: string[], env: Record<string, string> = {}): HopwireChild {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  let child: Child;
  try {
    child = startChild(bin, args);
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
  let stderr = "";
  child.process.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  return Object.assign(child, { stderr: () => stderr });
}

/** Resolves when the child's stdout and stderr are both closed (all output read). */
export function outputClosed(child: Child): Promise<void> {
  const closed = (s: NodeJS.ReadableStream & { closed?: boolean }) => new Promise<void>((resolve) => (s.closed ? resolve() : s.once("close", () => resolve())));
  return Promise.all([closed(child.process.stdout), closed(child.process.stderr)]).then(() => {});
}

/** `hopwire ...args` through runCli in this process: exit code and the lines written. */
export async function hopwireHere(...args: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli([process.execPath, bin, ...args], { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out, err };
}

/** Writes `text` to `file` in `home` and runs `hopwire --home <home> node <that path>` in this process. */
export async function hopwireNodeWithFile(home: string, file: string, text: string): Promise<{ path: string; code: number; out: string[]; err: string[] }> {
  const path = join(home, file);
  writeFileSync(path, text);
  return { path, ...(await hopwireHere("--home", home, "node", path)) };
}

/** SIGTERM, then the child prints "stopping (SIGTERM)" and "stopped" and exits 0. */
export async function terminate(child: Child): Promise<void> {
  child.process.kill("SIGTERM");
  const code = await child.exited;
  if (code !== 0) throw new Error(`exited ${code} on SIGTERM: ${child.lines.slice(-5).join(" | ")}`);
  // "exit" may come before the last lines are read: line() waits for them (or stdout's end).
  await child.line(/ stopping \(SIGTERM\)$/);
  await child.line(/ stopped$/);
}
