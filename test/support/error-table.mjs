// Prints the per-package tables of docs/errors.md from the built packages (`npx tsc -b` first):
//   node test/support/error-table.mjs
// Paste its output under the introduction of docs/errors.md; test/errors-family.test.ts
// fails while a class or code is missing there.
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../packages/", import.meta.url));
const seen = new Set();
for (const dir of readdirSync(root).sort()) {
  const pkg = JSON.parse(readFileSync(`${root}${dir}/package.json`, "utf8"));
  if (pkg.exports?.["."] === undefined) continue;
  const api = await import(pkg.name);
  console.log(`\n### ${pkg.name}\n\n| class | code | default message |\n|---|---|---|`);
  for (const [name, value] of Object.entries(api)) {
    if (typeof value !== "function" || !(value.prototype instanceof Error) || seen.has(value)) continue;
    seen.add(value);
    const error = new value();
    const parent = Object.getPrototypeOf(value).name;
    const extendsNote = parent !== "HopwireError" && parent !== "Error" ? ` (extends \`${parent}\`)` : "";
    console.log(`| \`${name}\`${extendsNote} | \`${error.code}\` | ${error.message} |`);
  }
}
