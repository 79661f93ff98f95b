// Runs one example by name: `npm run example -- 02-worker`.
import { readdir } from "node:fs/promises";

const here = new URL(".", import.meta.url);
const names = (await readdir(here))
  .filter((file) => /^\d\d-.+\.js$/.test(file))
  .map((file) => file.slice(0, -".js".length))
  .sort();

const name = process.argv[2];
if (name === undefined || !names.includes(name)) {
  console.error(`${name === undefined ? "Name an example" : `Unknown example "${name}"`}. Examples: ${names.join(", ")}`);
  console.error("Usage: npm run example -- <name>");
  process.exitCode = 1;
} else {
  await import(new URL(`./${name}.js`, here).href);
}
