// The API reference (`npm run docs`, typedoc.config.mjs) is complete: every export of every
// published package (packages/*, by their package.json "exports") is documented, and every
// {@link} resolves. TypeDoc's own validation decides, with warnings as errors; --emit none
// checks without writing docs/api/.
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const TYPEDOC = fileURLToPath(new URL("../../node_modules/typedoc/bin/typedoc", import.meta.url));

describe("the API reference", () => {
  // TypeDoc takes ~7 s of CPU: a generous wait for a loaded machine.
  it("documents every export of every published package, with no broken link", { timeout: 150_000 }, async () => {
    const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve) => {
      const child = execFile(process.execPath, [TYPEDOC, "--emit", "none", "--logLevel", "Warn"], { cwd: ROOT, timeout: 120_000 }, (error, stdout, stderr) =>
        resolve({ code: error ? (typeof error.code === "number" ? error.code : -1) : 0, output: `${stdout}${stderr}` }),
      );
      child.stdin?.end();
    });
    // The output names each undocumented export and each unresolved link.
    expect(output.replace(/\x1b\[[0-9;]*m/g, ""), "TypeDoc warnings").toBe("");
    expect(code).toBe(0);
  });
});
