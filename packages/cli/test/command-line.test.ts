import { readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { hopwire, hopwireHere, newHome, outputClosed, removeHomes } from "./processes.js";

afterEach(() => removeHomes());

const manifest = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string };

describe("the command line", { timeout: 60_000 }, () => {
  it("--version prints @hopwire/cli's version and exits 0 (as a process, from the bundle); -V too", async () => {
    const child = hopwire(["--version"]);
    expect(await child.exited).toBe(0);
    await outputClosed(child);
    expect(child.lines).toEqual([manifest.version]);
    expect(child.stderr()).toBe("");
    const short = await hopwireHere("-V");
    expect(short).toEqual({ code: 0, out: [manifest.version], err: [] });
  });
});
