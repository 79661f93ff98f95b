// The harness's command line as a script sees it: a bad option, value or input file is one
// error line (and the usage hint) on stderr, nothing on stdout, nothing run, and exit code 2,
// which a script can tell apart from 1 (a case failed) and 130 (interrupted). Real processes
// running the compiled CLI; none of these starts a scenario.
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { killAll, startChild } from "../../test/support/children.js";

const CLI = fileURLToPath(new URL("../dist/cli.js", import.meta.url));
afterEach(() => killAll());

async function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const cli = startChild(CLI, args);
  let stderr = "";
  cli.process.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const code = await cli.exited;
  return { code, stdout: cli.lines.join("\n"), stderr };
}

describe("bench CLI usage errors", () => {
  it.each([
    [["--bogus"], /^error: unknown option '--bogus'$/],
    [["--size", "abc"], /^error: option '--size <bytes,\.\.\.>' argument 'abc' is invalid/],
    [["--reps", "3"], /^error: option '--reps' must be at least 5/],
    [["-s", "tcp/one-hop-throughtput"], /^error: option '--scenario': "tcp\/one-hop-throughtput" matches no scenario/],
    [["--compare", "a.json"], /^error: option '--compare' takes exactly two files/],
    [["--compare", "/nonexistent/a.json", "/nonexistent/b.json"], /^error: \/nonexistent\/a\.json: cannot read results JSON/],
    [["--docs-from", "/nonexistent/r.json"], /^error: \/nonexistent\/r\.json: cannot read results JSON/],
    [["--targets", "/nonexistent/r.json"], /^error: \/nonexistent\/r\.json: cannot read results JSON/],
  ])("%j exits 2 with one error line and runs nothing", async (args, message) => {
    const { code, stdout, stderr } = await runCli(args);
    const lines = stderr.trim().split("\n");
    expect(lines[0]).toMatch(message);
    expect(lines.slice(1)).toEqual(["(run with --help for usage)"]);
    expect(stdout).toBe("");
    expect(code).toBe(2);
  });

  it("--help still exits 0", async () => {
    const { code, stdout } = await runCli(["--help"]);
    expect(stdout).toMatch(/^Usage: hopwire-bench/);
    expect(code).toBe(0);
  });
});

describe("bench CLI paths", () => {
  /** runCli with INIT_CWD set as `npm run` sets it: the directory the user typed the command in. */
  async function runFrom(dir: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const saved = process.env.INIT_CWD;
    process.env.INIT_CWD = dir;
    try {
      return await runCli(args);
    } finally {
      if (saved === undefined) delete process.env.INIT_CWD;
      else process.env.INIT_CWD = saved;
    }
  }

  // npm runs the bench in the repository's root: a relative path was read there, and --json wrote there.
  it("reads a relative file from where the user ran npm, and writes the docs where --docs-dir says", async () => {
    const { mkdtempSync, copyFileSync, existsSync, rmSync } = await import("node:fs");
    const { join } = await import("node:path");
    const { tmpdir } = await import("node:os");
    const dir = mkdtempSync(join(tmpdir(), "hopwire-bench-paths-"));
    try {
      copyFileSync(fileURLToPath(new URL("../../docs/bench-runs/2026-12-06-session42.json", import.meta.url)), join(dir, "run.json"));
      const targets = await runFrom(dir, ["--targets", "run.json"]);
      expect(targets.code, targets.stderr).toBe(0);
      expect(targets.stdout).toMatch(/^run: 2026-12-06T/);
      const docs = await runFrom(dir, ["--docs-from", "run.json", "--docs-dir", "out"]);
      expect(docs.code, docs.stderr).toBe(0);
      expect(existsSync(join(dir, "out", "BENCHMARKS.md"))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
