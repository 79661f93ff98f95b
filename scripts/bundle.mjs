// Writes dist/bundle/ for each published package, after `tsc -b`: the same compiled code as
// a few ES modules instead of ~70-190 files, so that a process or worker thread that imports
// a package reads and links far fewer modules (see docs/architecture.md, "How the packages
// load"). The tsc files stay in dist/ as they are: tests load them (condition
// "hopwire-unbundled"), and the .d.ts files describe both.
import { build } from "esbuild";
import { rm } from "node:fs/promises";
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
      // Readable stack traces; keepNames because worker classes are looked up by name.
      minify: false,
      keepNames: true,
      sourcemap: false,
      entryNames: "[name]",
      chunkNames: "chunk-[hash]",
      logLevel: "warning",
    });
  }),
);
