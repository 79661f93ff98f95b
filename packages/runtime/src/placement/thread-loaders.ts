import { createRequire } from "node:module";
import { isAbsolute, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { isMainThread } from "node:worker_threads";

/**
 * TypeScript in worker threads without a build step.
 *
 * A thread inherits the parent's `--import tsx` (see exec-argv.ts), but on Node 20 tsx
 * registers its loader hooks on the main thread only, and hooks registered there do not
 * reach worker threads: a thread importing a `.ts` worker module fails with
 * ERR_UNKNOWN_FILE_EXTENSION. So when that happens in a thread whose execArgv loads tsx,
 * the thread registers tsx itself (its public `tsx/esm/api`, resolved from where the
 * parent found tsx) and the import is tried again. Nothing happens, and nothing is paid,
 * where the import works the first time.
 */

let registered: Promise<boolean> | undefined;

/** Where the parent's execArgv loads tsx from, if it does: a module path or URL to resolve `tsx/esm/api` from. */
export function tsxLoaderBase(argv: readonly string[] = process.execArgv, cwd = process.cwd()): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    let value: string | undefined;
    for (const flag of ["--import", "--loader", "--experimental-loader", "--require", "-r"]) {
      if (arg === flag) value = argv[i + 1];
      else if (arg.startsWith(flag + "=")) value = arg.slice(flag.length + 1);
    }
    if (value === undefined) continue;
    if (value === "tsx" || value.startsWith("tsx/")) return join(cwd, "noop.js"); // a bare specifier: resolved from the cwd
    const path = value.startsWith("file:") ? fileURLToPath(value) : isAbsolute(value) ? value : undefined;
    if (path !== undefined && /[\\/]node_modules[\\/]tsx[\\/]/.test(path)) return path;
  }
  return undefined;
}

/** Registers tsx in this thread if the parent loads it; true if it did. Once per thread. */
export function registerInheritedTypeScriptLoader(): Promise<boolean> {
  registered ??= (async () => {
    if (isMainThread) return false;
    const base = tsxLoaderBase();
    if (base === undefined) return false;
    try {
      const { register } = (await import(esmEntry(createRequire(base), "tsx", "./esm/api"))) as { register?: () => unknown };
      if (typeof register !== "function") return false;
      register();
      return true;
    } catch {
      return false;
    }
  })();
  return registered;
}

/**
 * The URL of a package export's ESM entry ("import" condition), resolved the way `require`
 * finds the package: `require.resolve` alone would pick the CommonJS entry, and tsx's
 * CommonJS API cannot register its ESM hooks.
 */
function esmEntry(require: NodeJS.Require, name: string, subpath: string): string {
  const manifestPath = require.resolve(`${name}/package.json`);
  const manifest = require(manifestPath) as { exports?: Record<string, unknown> };
  const entry = manifest.exports?.[subpath] as { import?: string | { default?: string } } | undefined;
  const target = typeof entry?.import === "string" ? entry.import : entry?.import?.default;
  if (typeof target !== "string") throw new Error(`${name} has no ESM export ${subpath}`);
  return new URL(target, pathToFileURL(manifestPath)).href;
}

/** Whether an import failed because no loader handles the file's extension (e.g. ".ts"). */
export function isUnknownExtension(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === "ERR_UNKNOWN_FILE_EXTENSION";
}
