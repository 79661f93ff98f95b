import { execFileSync } from "node:child_process";
import { closeSync, constants, openSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { MAX_CONFIG_FILE_BYTES } from "../dist/index.js";
import { hopwire, hopwireHere, hopwireNodeWithFile, newHome, outputClosed, removeHomes } from "./processes.js";

const fifos: string[] = [];

afterEach(() => {
  // Before the fix, a reader waited in open() for a writer: open the writing end (it fails
  // at once when no reader waits) so that a run without the fix ends.
  for (const fifo of fifos.splice(0)) {
    try {
      closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
    } catch {
      // no reader waiting: nothing to release
    }
  }
  removeHomes();
});

function mkfifo(path: string): string {
  execFileSync("mkfifo", [path]);
  fifos.push(path);
  return path;
}

describe.skipIf(process.platform === "win32")("a configuration or identity file that is not a regular file, or too large", { timeout: 60_000 }, () => {
  // A FIFO made `hopwire node` wait for a writer for ever, on a thread that kept it from
  // exiting even on SIGTERM; /dev/urandom or /dev/zero grew it to ~1 GB before it failed.
  it("a FIFO as the configuration or as its identity file: one line, exit 2 (as a process)", async () => {
    const home = newHome();
    const config = mkfifo(join(home, "node.yaml"));
    const identity = mkfifo(join(home, "identity.json"));
    writeFileSync(join(home, "with-identity.yaml"), `identity:\n  file: ${identity}\n`);
    const nodes = [config, join(home, "with-identity.yaml")].map((file) => hopwire(["--home", home, "node", file]));
    expect(await Promise.all(nodes.map((n) => n.exited))).toEqual([2, 2]);
    await Promise.all(nodes.map((n) => outputClosed(n)));
    expect(nodes[0]!.stderr()).toBe(`hopwire: ${config}: cannot read the file: not a regular file (a FIFO or a device)\n`);
    expect(nodes[1]!.stderr()).toBe(
      `hopwire: ${join(home, "with-identity.yaml")}: identity.file: cannot read the identity file ${JSON.stringify(identity)}: not a regular file (a FIFO or a device) (NOT_REGULAR_FILE)\n`,
    );
  });

  it("a device as the identity file: not read (NOT_REGULAR_FILE)", async () => {
    const home = newHome();
    const { path, ...result } = await hopwireNodeWithFile(home, "node.yaml", "identity:\n  file: /dev/null\n");
    expect(result).toEqual({ code: 2, out: [], err: [`hopwire: ${path}: identity.file: cannot read the identity file "/dev/null": not a regular file (a FIFO or a device) (NOT_REGULAR_FILE)`] });
  });

  it("a configuration larger than 4 MiB, an identity file larger than 64 KiB: not read", async () => {
    const home = newHome();
    expect(MAX_CONFIG_FILE_BYTES).toBe(4 * 1024 * 1024);
    const config = join(home, "large.json");
    writeFileSync(config, "x".repeat(MAX_CONFIG_FILE_BYTES + 1));
    expect(await hopwireHere("--home", home, "node", config)).toEqual({ code: 2, out: [], err: [`hopwire: ${config}: cannot read the file: larger than 4 MiB, more than any configuration`] });
    const identity = join(home, "large-identity.json");
    writeFileSync(identity, "x".repeat(64 * 1024 + 1));
    const { path, ...result } = await hopwireNodeWithFile(home, "node.yaml", `identity:\n  file: ${identity}\n`);
    expect(result).toEqual({
      code: 2,
      out: [],
      err: [`hopwire: ${path}: identity.file: cannot read the identity file ${JSON.stringify(identity)}: larger than 64 KiB, more than any identity file (FILE_TOO_LARGE)`],
    });
  });
});
