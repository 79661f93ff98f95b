// The CPU probes' flags, as a user types them: an unknown flag, a number that is none or a
// value off a flag's list is one error line and exit code 2, before anything runs (`--n abc`
// hung for ever, `--case bogus` ran some case and exited 0, `--reps` for `--rounds` was ignored).
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { killAll, startChild } from "../../test/support/children.js";

afterEach(() => killAll());

async function probe(name: string, args: string[]): Promise<{ code: number | null; stderr: string }> {
  const child = startChild(fileURLToPath(new URL(`../dist/probe/${name}.js`, import.meta.url)), args);
  let stderr = "";
  child.process.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const code = await child.exited;
  return { code, stderr };
}

describe("the probes' flags", () => {
  it.each([
    ["rtt-cpu", ["--case", "bogus"], /^error: --case is one of raw, raw-thread, hw-main, hw-thread, mp, proxy, seed, seed-main, got "bogus"\nusage: rtt-cpu\.js /],
    ["rtt-cpu", ["--n", "abc"], /^error: --n takes a whole number of at least 1, got "abc"\n/],
    ["channel-cpu", ["--n", "abc", "--reps", "1"], /^error: --n takes a whole number of at least 1, got "abc"\nusage: channel-cpu\.js /],
    ["rtt-cpu", ["--warm", "-1"], /^error: --warm takes a number, got "-1"\n/],
    ["channel-cpu", ["--baseline", "quic"], /^error: --baseline is one of tls, tcp, got "quic"\n/],
    // A count of 0.5 hung: the sink's second mark was never reached (a review's catch).
    ["channel-cpu", ["--n", "0.5", "--reps", "1"], /^error: --n takes a whole number of at least 1, got "0\.5"\n/],
    ["send-cpu", ["--reps", "1"], /^error: unknown flag --reps; this probe takes --size, --n, --rounds, --to, --send, --route\nusage: send-cpu\.js /],
    ["waiting-sends", ["--batches", "2"], /^error: unknown flag --batches; /],
    ["aead-offload", ["--n", "2"], /^error: unknown flag --n; this probe takes --size, --seconds, --warm, --reps\nusage: aead-offload\.js /],
  ])("%s %j exits 2 with one error line and the usage, running nothing", async (name, args, message) => {
    const { code, stderr } = await probe(name, args);
    expect(stderr).toMatch(message);
    expect(code).toBe(2);
  });
});
