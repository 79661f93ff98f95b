// Runs one example by name: `npm run example -- 02-worker [args...]`; `--list` names them.
import { readdir } from "node:fs/promises";

const here = new URL(".", import.meta.url);
const names = (await readdir(here))
  .filter((file) => /^\d\d-.+\.js$/.test(file))
  .map((file) => file.slice(0, -".js".length))
  .sort();

const name = process.argv[2];
if (name === "--list" || name === "-l") {
  console.log(names.join("\n"));
} else if (name === undefined || !names.includes(name)) {
  console.error(`${name === undefined ? "Name an example" : `Unknown example "${name}"`}. Examples: ${names.join(", ")}`);
  console.error("Usage: npm run example -- <name> [args...]   (npm run example -- --list names them)");
  process.exitCode = 1;
} else {
  // The example sees the arguments after its name where it would when run directly
  // (`node examples/dist/<name>.js [args...]`): process.argv[2] onwards.
  process.argv.splice(2, 1);
  // A failure at start-up (a port in use) as one line with its code, not Node's dump of the
  // error; and the process ends, as it did on the uncaught error (what the example started
  // before it failed, a node, would keep it running).
  await import(new URL(`./${name}.js`, here).href).catch((error: unknown) => {
    const code = (error as { code?: unknown } | null)?.code;
    console.error(`${name}: ${error instanceof Error ? `${error.name}${typeof code === "string" ? ` [${code}]` : ""}: ${error.message}` : String(error)}`);
    process.exit(1);
  });
}
