import { mkdir, stat } from "node:fs/promises";
import { dirname, resolve } from "node:path";

/**
 * `mkdir -p` that always ends. Node's `mkdir(dir, { recursive: true })` never settles (and
 * spins a CPU) when a parent exists but cannot hold the child, as anywhere under /proc,
 * where mkdir answers ENOENT: it takes ENOENT to mean "make the parent first", the parent
 * answers EEXIST, and it tries the child again, for ever. Here an ENOENT once the parent
 * exists is final and is thrown as it is. Throws ENOTDIR if `dir` or a parent is a file.
 * Creates each missing directory with `mode`.
 */
export async function makeDirectories(dir: string, mode: number): Promise<void> {
  const missing: string[] = [];
  let at = resolve(dir);
  // Up while a level has no parent (a root that does not exist: the walk down says so).
  while (!(await makeOne(at, mode, false)) && dirname(at) !== at) {
    missing.push(at);
    at = dirname(at);
  }
  for (const child of missing.reverse()) await makeOne(child, mode, true);
}

/**
 * Makes `at`, or finds it a directory already: true. False on ENOENT (no parent) unless
 * `parentMade`, where that ENOENT is thrown; anything else is thrown.
 */
async function makeOne(at: string, mode: number, parentMade: boolean): Promise<boolean> {
  try {
    await mkdir(at, { mode });
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" && !parentMade) return false;
    if (code !== "EEXIST") throw error;
    if (!(await stat(at)).isDirectory()) throw Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${at}'`), { code: "ENOTDIR", path: at });
    return true;
  }
}
