// `npm run docs`: the API reference of every published package, from the TSDoc comments
// of what each package exports (its package.json "exports", so packages/* added later are
// covered), written to docs/api/ (git-ignored). TypeDoc reads the compiled declarations
// (build first), which resolve across packages exactly as a user's program does.
// test/packaging/api-docs.test.ts runs it with --emit none: an undocumented export or a
// broken {@link} fails `npm test`.
import { existsSync, readdirSync, readFileSync } from "node:fs";

const published = readdirSync("packages")
  .map((name) => `packages/${name}`)
  .filter((dir) => existsSync(`${dir}/package.json`))
  .map((dir) => ({ dir, manifest: JSON.parse(readFileSync(`${dir}/package.json`, "utf8")) }))
  .filter(({ manifest }) => manifest.private !== true);
const entryPoints = published.flatMap(({ dir, manifest }) =>
  Object.values(manifest.exports ?? {}).map((e) => `${dir}/${e.types.replace(/^\.\//, "")}`),
);

/** @type {Partial<import("typedoc").TypeDocOptions>} */
export default {
  name: "Hopwire",
  entryPoints,
  tsconfig: "tsconfig.typedoc.json",
  // `tsc -b` has type-checked already; skipping it here keeps the docs check to seconds.
  skipErrorChecking: true,
  out: "docs/api",
  readme: "none",
  excludePrivate: true,
  excludeInternal: true,
  // Sources are the .d.ts files: links to them would not help a reader.
  disableSources: true,
  // Every export documented (members may rely on their names and types), every link resolved.
  requiredToBeDocumented: ["Enum", "Variable", "Function", "Class", "Interface", "TypeAlias", "Namespace"],
  packagesRequiringDocumentation: published.map(({ manifest }) => manifest.name),
  validation: { notExported: true, invalidLink: true, invalidPath: true, rewrittenLink: true, notDocumented: true },
  treatWarningsAsErrors: true,
};
