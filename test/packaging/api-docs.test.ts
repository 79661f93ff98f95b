// The API reference (`npm run docs`, typedoc.config.mjs) is complete: every export of every
// published package (packages/*, by their package.json "exports") is documented, and every
// {@link} resolves. TypeDoc's own validation decides, with warnings as errors; --emit none
// checks without writing docs/api/.
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { runToExit } from "../support/children.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
// TypeDoc's CLI itself: its bin (node_modules/typedoc/bin/typedoc) only forks this file in a
// second Node process (to fork it again when --watch asks for a restart), ~0.15-0.3 s of CPU.
const TYPEDOC = fileURLToPath(new URL("../../node_modules/typedoc/dist/cli.js", import.meta.url));

describe("the API reference", () => {
  // TypeDoc takes ~7 s of CPU: a generous wait for a loaded machine.
  it("documents every export of every published package, with no broken link", { timeout: 150_000 }, async () => {
    // --no-experimental-detect-module: TypeDoc imports typescript/lib/typescript.js, a CommonJS
    // file in a package with no "type"; Node 20.19+ first compiles all 9 MB of it to look for
    // ES module syntax (~0.18 s of CPU, gone with the flag; the file is then loaded as it would be anyway).
    const { code, stdout, stderr } = await runToExit(["--no-experimental-detect-module", TYPEDOC, "--emit", "none", "--logLevel", "Warn"], {
      cwd: ROOT,
      timeoutMs: 120_000,
    });
    const output = `${stdout}${stderr}`;
    // The output names each undocumented export and each unresolved link.
    expect(output.replace(/\x1b\[[0-9;]*m/g, ""), "TypeDoc warnings").toBe("");
    expect(code).toBe(0);
  });
});
