import { describe, expect, it } from "vitest";
import { threadExecArgv } from "@hopwire/runtime";

describe("threadExecArgv: what a worker thread inherits from the parent's execArgv", () => {
  it("keeps loaders and module flags", () => {
    const argv = [
      "--import", "tsx",
      "--require", "/x/preflight.cjs",
      "--import=file:///x/loader.mjs",
      "--loader", "./hooks.mjs",
      "--experimental-loader=./more.mjs",
      "--conditions=development",
      "--enable-source-maps",
      "--experimental-vm-modules",
      "--no-warnings",
    ];
    expect(threadExecArgv(argv)).toEqual(argv);
  });

  it("drops the main script's flags with their values", () => {
    expect(threadExecArgv(["--input-type=module", "--import", "tsx", "-e", "--weird code", "--print", "1+1"])).toEqual(["--import", "tsx"]);
    expect(threadExecArgv(["--input-type", "module", "--eval=x()", "--check", "--interactive", "--test", "--test-reporter", "dot"])).toEqual([]);
  });

  it("drops per-process debugging, profiling and V8 flags a worker refuses", () => {
    const argv = [
      "--inspect=0", "--inspect-brk", "--cpu-prof", "--cpu-prof-dir", "/tmp/p", "--heap-prof", "--prof", "--title=x",
      "--max-old-space-size=100", "--stack-size=900", "--expose-gc", "--watch", "--watch-path", "src",
      "--import", "tsx",
    ];
    expect(threadExecArgv(argv)).toEqual(["--import", "tsx"]);
  });
});
