import { describe, expect, it } from "vitest";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { runToExit, type Finished } from "./support/children.js";

// TypeScript's compiler API through require: it is one CommonJS file of ~9 MB, and an ES
// module import of it first scans all of it for its export names (~0.65 s of CPU in the
// fork, against ~0.2 s for require). The same compiler either way.
const ts = createRequire(import.meta.url)("typescript") as typeof import("typescript");

// Issue 11, item 4: the README's TypeScript runs as written under `node --import tsx`, no
// build step, with the worker class (a .ts module) loaded in a worker thread or a pool slot.

const app = fileURLToPath(new URL("./fixtures/tsx-app/", import.meta.url));

/** Runs `node ...args` in the app's folder, in its own process group, killed in any case. */
function run(args: string[]): Promise<Finished> {
  return runToExit(args, { cwd: app, timeoutMs: 90_000 });
}

/** Runs the app and checks it exited cleanly, printing exactly `stdout`. */
async function expectRun(args: string[], stdout: string): Promise<void> {
  const result = await run(args);
  expect(result.stderr).not.toMatch(/Error/);
  expect(result.code).toBe(0);
  expect(result.stdout).toBe(stdout);
}

describe("TypeScript without a build step", () => {
  // Both placements in one process (a tsx process costs ~1.3 s of CPU): each starts its own
  // worker, whose pool slot (or thread) must load the .ts module. The pool first: it starts
  // with nothing the thread placement may have learned about the process's execArgv.
  it('node --import tsx runs a program whose .ts workers are placed "pool" and "thread"', async () => {
    await expectRun(["--import", "tsx", "main.ts", "pool", "thread"], "pool reply: HELLO FROM TYPESCRIPT\nthread reply: HELLO FROM TYPESCRIPT\n");
  }, 120_000);

  it("--input-type given to the main program does not reach the worker threads", async () => {
    await expectRun(["--input-type=module", "--import", "tsx", "-e", 'await import("./main.ts")'], "thread reply: HELLO FROM TYPESCRIPT\n");
  }, 120_000);

  it("the README's first app runs as written under node --import tsx, and under node once tsc compiled it", async () => {
    const readme = readFileSync(fileURLToPath(new URL("../README.md", import.meta.url)), "utf8");
    const block = /<!-- first-app[^>]*-->\s*```ts\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(block).toBeDefined();
    // Written beside the fixture so that @hopwire/* resolve as they would in an app.
    const file = join(app, `first-app-${process.pid}.ts`);
    const compiled = file.replace(/\.ts$/, ".js");
    writeFileSync(file, block!);
    try {
      const underTsx = await run(["--import", "tsx", file]);
      expect(underTsx.stderr).toBe("");
      expect(underTsx.code).toBe(0);
      expect(underTsx.stdout).toBe("App received: Hello Hopwire!\n");

      // tsc, strict, as an app's tsconfig would say (a Node app's lib, no DOM: as this repo's
      // tsconfig.base.json, and ~1 s of CPU less): no type errors, then plain node runs the .js.
      const options: import("typescript").CompilerOptions = {
        strict: true,
        target: ts.ScriptTarget.ES2022,
        lib: ["lib.es2023.d.ts"],
        module: ts.ModuleKind.NodeNext,
        moduleResolution: ts.ModuleResolutionKind.NodeNext,
        skipLibCheck: true,
        types: ["node"],
      };
      // As the tsc command sets its host (TypeScript >= 5.3): JSDoc parsed only where it can
      // carry types (JavaScript files), not in the ~200 declaration files read here: ~0.25 s
      // of CPU less (1.07 -> 0.86 s for createProgram), the same diagnostics.
      const host = ts.createCompilerHost(options);
      host.jsDocParsingMode = ts.JSDocParsingMode.ParseForTypeErrors;
      const program = ts.createProgram({ rootNames: [file], options, host });
      const diagnostics = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n"));
      expect(diagnostics).toEqual([]);
      program.emit();
      const underNode = await run([compiled]);
      expect(underNode.stderr).toBe("");
      expect(underNode.stdout).toBe("App received: Hello Hopwire!\n");
    } finally {
      rmSync(file, { force: true });
      rmSync(compiled, { force: true });
    }
  }, 120_000);
});
