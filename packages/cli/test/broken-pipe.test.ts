import { afterEach, describe, expect, it } from "vitest";
import { hopwire, hopwireHere, newHome, outputClosed, removeHomes } from "./processes.js";

afterEach(() => removeHomes());

describe("a reader that closed stdout", { timeout: 60_000 }, () => {
  // As in `hopwire identity list | head -1`: the reader is gone before the command writes.
  // It crashed with an unhandled EPIPE and a stack trace (exit 1).
  it("ends `identity list` quietly: no stack trace, exit code 141 (128 + SIGPIPE)", async () => {
    const home = newHome();
    for (const name of ["alice", "bob", "carol"]) expect((await hopwireHere("--home", home, "identity", "create", name)).code).toBe(0);
    const list = hopwire(["--home", home, "identity", "list"]);
    list.process.stdout.destroy(); // this end of the pipe closes now; the process is still starting
    expect(await list.exited).toBe(141);
    await outputClosed(list);
    expect(list.stderr()).toBe("");
  });
});
