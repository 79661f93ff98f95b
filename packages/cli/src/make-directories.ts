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
  while ((await makeOne(at, mode)) === "no parent") {
    const parent = dirname(at);
    if (parent === at) break; // a root that does not exist: the next mkdir says so
    missing.push(at);
    at = parent;
  }
  for (const child of missing.reverse()) {
    if ((await makeOne(child, mode)) === "no parent") await mkdir(child, { mode }); // throws its ENOENT
  }
}

/** Makes `at`, or finds it a directory already; "no parent" on ENOENT; throws anything else. */
async function makeOne(at: string, mode: number): Promise<"made" | "no parent"> {
  try {
    await mkdir(at, { mode });
    return "made";
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return "no parent";
    if (code !== "EEXIST") throw error;
    if (!(await stat(at)).isDirectory()) {
      throw Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${at}'`), { code: "ENOTDIR", errno: -20, syscall: "mkdir", path: at });
    }
    return "made";
  }
}
