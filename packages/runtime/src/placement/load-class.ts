import { isAbsolute } from "node:path";
import { pathToFileURL } from "node:url";
import { isMainThread } from "node:worker_threads";
import { WorkerLoadError } from "../errors/errors.js";
import type { WorkerClass } from "../worker/worker.js";
import { isUnknownExtension, registerInheritedTypeScriptLoader } from "./thread-loaders.js";

/**
 * The module a worker class must be loaded from in another thread: its `static module`
 * (usually `import.meta.url`), as a URL string that any thread can import.
 */
export function moduleOf(workerClass: WorkerClass): string {
  const module = workerClass.module;
  if (module === undefined || module === null || module === "") {
    throw new WorkerLoadError(
      `Worker class ${workerClass.name || "(anonymous)"} has no static \`module\`: add \`static readonly module = import.meta.url\` ` +
        `and export the class under its own name, or start it with { placement: "main" }`,
    );
  }
  if (module instanceof URL) return module.href;
  if (typeof module !== "string") throw new WorkerLoadError(`Worker class ${workerClass.name}'s \`module\` must be a string or URL`);
  return isAbsolute(module) ? pathToFileURL(module).href : module;
}

export function exportNameOf(workerClass: WorkerClass): string {
  const name = workerClass.name;
  if (!name) throw new WorkerLoadError("A worker class started off the main thread must have a name (it is looked up by name in its module)");
  return name;
}

/** Modules being imported by a worker's thread or pool slot (to catch a module that starts a node). */
let importing = 0;

/** True while a worker's thread (or pool slot) imports the worker's module. */
export function isImportingWorkerModule(): boolean {
  return importing > 0;
}

/** Imports `module` and returns its export `name`, which must be a class. */
export async function loadWorkerClass(module: string, name: string): Promise<WorkerClass> {
  let exports: Record<string, unknown>;
  if (!isMainThread) importing++;
  try {
    try {
      exports = (await import(module)) as Record<string, unknown>;
    } catch (error) {
      // A .ts module under `node --import tsx`: register tsx in this thread and try again.
      if (!isUnknownExtension(error) || !(await registerInheritedTypeScriptLoader())) throw error;
      // The failed import is cached under its URL: ask again under another one.
      exports = (await import(`${module}${module.includes("?") ? "&" : "?"}hopwire-loader`)) as Record<string, unknown>;
    }
  } catch (cause) {
    throw new WorkerLoadError(`Could not import worker module ${module}${hintFor(cause, module)}`, { cause });
  } finally {
    if (!isMainThread) importing--;
  }
  const found = exports[name] ?? (isNamed(exports.default, name) ? exports.default : undefined);
  if (typeof found !== "function") {
    throw new WorkerLoadError(`Module ${module} has no export named ${name} (a worker class must be exported under its own name)`);
  }
  return found as WorkerClass;
}

function isNamed(value: unknown, name: string): boolean {
  return typeof value === "function" && value.name === name;
}

/** What the message adds to "Could not import worker module …": what to do for a known cause, else what the import threw. */
function hintFor(cause: unknown, module: string): string {
  if (isUnknownExtension(cause) && /\.[cm]?tsx?$/.test(module)) {
    return ": a TypeScript module needs a loader in every thread; run the program with `node --import tsx` (inherited by worker threads), or compile it first";
  }
  const what = cause instanceof Error ? cause.message : String(cause);
  return what ? `: ${what.split("\n")[0]}` : "";
}
