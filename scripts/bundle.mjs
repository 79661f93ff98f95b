// Writes dist/bundle/ for each published package, after `tsc -b`: the same compiled code as
// a few ES modules instead of ~70-190 files, so that a process or worker thread that imports
// a package reads and links far fewer modules (see docs/architecture.md, "How the packages
// load"). The tsc files stay in dist/ as they are: tests load them (condition
// "hopwire-unbundled"), and the .d.ts files describe both.
import { build } from "esbuild";
import { readdir, readFile, rm, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));

// Per package: its entry points, named so the bundle's files don't clash. Besides each
// `exports` subpath (and the bin), every file a package loads by URL at run time must be an
// entry too, next to the chunks: the runtime's thread and pool entries and the crypto
// thread's entry are found as `new URL("./<name>.js", import.meta.url)`.
const packages = {
  runtime: {
    index: "index.js",
    errors: "errors/index.js",
    "thread-entry": "placement/thread-entry.js",
    "pool-entry": "placement/pool-entry.js",
  },
  "transport-tcp": { index: "index.js" },
  "secure-channel": {
    index: "index.js",
    noise: "noise/index.js",
    "crypto-thread-entry": "crypto-threads/crypto-thread-entry.js",
  },
  portal: { index: "index.js" },
  relay: { index: "index.js" },
  cli: { index: "index.js", bin: "bin.js" },
};

// `--clean` (npm run clean) removes the bundles only: `tsc -b --clean` leaves them.
const cleanOnly = process.argv.includes("--clean");

await Promise.all(
  Object.entries(packages).map(async ([name, entries]) => {
    const dist = `${root}packages/${name}/dist/`;
    const outdir = `${dist}bundle`;
    // Chunk names carry a content hash: stale chunks from an earlier build would pile up.
    await rm(outdir, { recursive: true, force: true });
    if (cleanOnly) return;
    await build({
      entryPoints: Object.fromEntries(Object.entries(entries).map(([out, file]) => [out, dist + file])),
      outdir,
      format: "esm",
      platform: "node",
      bundle: true,
      // Shared code goes to chunks, so that index and the thread entries loaded in one
      // thread share one copy of each class (instanceof, registries).
      splitting: true,
      // Every bare import stays an import: other @hopwire packages (one copy of each in a
      // process), msgpackr, piscina, @noble/*, and the cli's dependencies.
      packages: "external",
      // Readable stack traces; keepNames because worker classes are looked up by name (and see
      // cheapenKeepNames below).
      minify: false,
      keepNames: true,
      sourcemap: false,
      entryNames: "[name]",
      chunkNames: "chunk-[hash]",
      logLevel: "warning",
    });
    await rewriteBundles(outdir);
  }),
);

/**
 * keepNames wraps every named function in `__name(fn, "name")`, which redefines `fn.name`.
 * For a closure made per call (a wait's callbacks, a promise's executor) that costs ~0.3 µs
 * each (measured on Node 20: four wrapped closures 1.3-1.5 µs against 0.1 unwrapped), and a
 * class whose `name` was redefined makes `instanceof` take V8's slow path. The name matters
 * only where esbuild renamed a class or function (two modules' `ConfigError` in one bundle):
 * so the helper leaves alone a function that already has its name, and arrow functions
 * (no `prototype`), whose names only stack traces show (they keep their file and line).
 */
function cheapenKeepNames(path, text) {
  const helper = 'var __name = (target, value) => __defProp(target, "name", { value, configurable: true });';
  const cheap =
    'var __name = (target, value) => target.prototype === void 0 || target.name === value ? target : __defProp(target, "name", { value, configurable: true });';
  if (!text.includes("var __name = ")) return text;
  if (!text.includes(helper)) throw new Error(`${path}: esbuild's __name helper changed; update scripts/bundle.mjs`);
  return text.replace(helper, cheap);
}

/**
 * V8 keeps each module's source text in the heap, one byte per character unless a single
 * character is outside Latin-1: then the whole text takes two bytes per character. esbuild
 * escapes such characters in code (charset "ascii"), not in the comments it keeps (an arrow
 * or a "≤" in a doc comment), and those few characters made our bundles' sources take ~0.5
 * MiB more in every process and thread that loads them. Written as \u escapes instead; a
 * non-ASCII character outside a comment line fails the build rather than being rewritten
 * where an escape could change its meaning.
 */
function asciiComments(path, text) {
  if (!/[^\x00-\x7f]/.test(text)) return text;
  const lines = text.split("\n").map((line, i) => {
    if (!/[^\x00-\x7f]/.test(line)) return line;
    if (!/^\s*(\/\/|\/\*|\*)/.test(line)) throw new Error(`${path}:${i + 1}: a non-ASCII character outside a comment; escape it in the source`);
    return line.replace(/[^\x00-\x7f]/gu, (c) => `\\u{${c.codePointAt(0).toString(16)}}`);
  });
  return lines.join("\n");
}

/** Every bundle file read once, through both rewrites above, and written back if they changed it. */
async function rewriteBundles(outdir) {
  for (const file of await readdir(outdir)) {
    if (!file.endsWith(".js")) continue;
    const path = `${outdir}/${file}`;
    const text = await readFile(path, "utf8");
    const rewritten = asciiComments(path, cheapenKeepNames(path, text));
    if (rewritten !== text) await writeFile(path, rewritten);
  }
}
