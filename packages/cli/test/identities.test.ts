import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { hopwire, hopwireHere, hopwireNodeWithFile, newHome, outputClosed, removeHomes, terminate } from "./processes.js";

afterEach(() => removeHomes());

async function create(home: string, name: string): Promise<string> {
  const { code, out } = await hopwireHere("--home", home, "identity", "create", name);
  expect(code).toBe(0);
  return out[0]!;
}

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

const tooOpen = (file: string, mode: string): string =>
  `hopwire: warning: permissions ${mode} for the identity file ${file} are too open: it holds a secret key, and users other than its owner can access it (chmod 600 ${file})`;

describe("hopwire identity list", { timeout: 60_000 }, () => {
  // It failed as a whole (exit 2, nothing listed) when one file could not be read.
  it("lists the identities it can read, reports the one it cannot on stderr, and exits 2", async () => {
    const home = newHome();
    const alice = await create(home, "alice");
    const carol = await create(home, "carol");
    const broken = join(home, "identities", "bob.json");
    writeFileSync(broken, "{", { mode: 0o600 });
    const { code, out, err } = await hopwireHere("--home", home, "identity", "list");
    expect(out).toEqual([`alice ${alice}`, `carol ${carol}`]);
    expect(err).toEqual([`hopwire: Cannot read the identity "bob" (${broken}): identity file ${broken} is not valid JSON`]);
    expect(code).toBe(2);
  });
});

describe("identity names", { timeout: 60_000 }, () => {
  // `identity create ..` was accepted and wrote the hidden file "...json".
  it("create and show refuse a name of dots only (exit 2), and nothing is written", async () => {
    const home = newHome();
    const problem = 'expected a name that is not only dots ("." and ".." name directories)';
    for (const name of [".", "..", "..."]) {
      expect(await hopwireHere("--home", home, "identity", "create", name)).toEqual({ code: 2, out: [], err: [`hopwire: Invalid identity name ${JSON.stringify(name)}: ${problem}`] });
    }
    expect(await hopwireHere("--home", home, "identity", "show", "..")).toEqual({ code: 2, out: [], err: [`hopwire: Invalid identity name "..": ${problem}`] });
    expect(existsSync(join(home, "identities"))).toBe(false);
    await create(home, "a.b"); // dots beside other characters are a name
  });
});

describe("a configuration's identity file that is not an identity", { timeout: 60_000 }, () => {
  // It said only "cannot read the identity file … (INVALID_IDENTITY_EXPORT)": the file was
  // read, and why it is no identity (not JSON, another format) was dropped.
  it("says the file was read and why it is not an identity (exit 2)", async () => {
    const home = newHome();
    const files: [string, string, string][] = [
      ["hostname", "myhost\n", "identity file {file} is not valid JSON (INVALID_IDENTITY_EXPORT)"],
      ["other.json", '{"format":"pem"}\n', 'identity export must have format "hopwire-identity" (INVALID_IDENTITY_EXPORT)'],
      ["future.json", '{"format":"hopwire-identity","version":2}\n', "identity export version 2 is not supported (expected 1) (UNSUPPORTED_IDENTITY_VERSION)"],
    ];
    for (const [name, text, why] of files) {
      const file = join(home, name);
      writeFileSync(file, text, { mode: 0o600 });
      const { path, ...result } = await hopwireNodeWithFile(home, "node.yaml", `identity:\n  file: ${file}\n`);
      const problem = `the identity file ${JSON.stringify(file)} was read, but it is not an identity: ${why.replace("{file}", file)}`;
      expect(result).toEqual({ code: 2, out: [], err: [`hopwire: ${path}: identity.file: ${problem}`] });
    }
  });
});

describe("a configuration's relative identity file", { timeout: 60_000 }, () => {
  // It was read from the working directory: `file: bob.json` beside /etc/hopwire/bob.yaml
  // worked or failed (ENOENT, naming only "bob.json") depending on where the node started.
  it("is the configuration's neighbour, and an error about it names the absolute path", async () => {
    const home = newHome();
    const { path, ...missing } = await hopwireNodeWithFile(home, "node.yaml", "identity:\n  file: nope.json\n");
    expect(missing).toEqual({ code: 2, out: [], err: [`hopwire: ${path}: identity.file: cannot read the identity file ${JSON.stringify(join(home, "nope.json"))} (ENOENT)`] });
  });

  // `file: ~/keys/bob.json` was read as "<config dir>/~/keys/bob.json".
  it("starting with ~/ is under the user's home directory", async () => {
    const home = newHome();
    const { path, ...missing } = await hopwireNodeWithFile(home, "node.yaml", "identity:\n  file: ~/hopwire-no-such-dir/bob.json\n");
    const expected = join(homedir(), "hopwire-no-such-dir", "bob.json");
    expect(missing).toEqual({ code: 2, out: [], err: [`hopwire: ${path}: identity.file: cannot read the identity file ${JSON.stringify(expected)} (ENOENT)`] });
  });

  // `identity: bob.json` is a valid name; that it was meant as a file went unsaid.
  it("a name that looks like a file says how to give a file", async () => {
    const home = newHome();
    const { path, ...missing } = await hopwireNodeWithFile(home, "node.yaml", "identity: bob.json\n");
    expect(missing).toEqual({
      code: 2,
      out: [],
      err: [
        `hopwire: ${path}: identity: No identity called "bob.json" in ${join(home, "identities")} (create it with: hopwire identity create bob.json); an identity file is written identity: { file: "bob.json" }`,
      ],
    });
  });

  it("a node started from another directory runs with it (as a process)", async () => {
    const home = newHome();
    const bob = await create(home, "bob");
    const config = join(home, "node.yaml");
    writeFileSync(config, "identity:\n  file: identities/bob.json\ntcpListeners:\n  - address: 127.0.0.1:0\n");
    expect(process.cwd()).not.toBe(home);
    const node = hopwire(["--home", home, "node", config]);
    await node.line(new RegExp(` identity ${bob}$`));
    await node.line(/ ready$/);
    await terminate(node);
    await outputClosed(node);
    expect(node.stderr()).toBe("");
  });
});

describe.skipIf(process.platform === "win32")("an identity file others can read", { timeout: 60_000 }, () => {
  // It was used without a word. Like ssh, hopwire warns; unlike ssh, it still uses the file.
  it("show and list warn on stderr (one line per file) and still print the identifier; 0600 files give no warning", async () => {
    const home = newHome();
    const alice = await create(home, "alice");
    const bob = await create(home, "bob");
    const bobFile = join(home, "identities", "bob.json");
    chmodSync(bobFile, 0o644);
    expect(await hopwireHere("--home", home, "identity", "show", "bob")).toEqual({ code: 0, out: [bob], err: [tooOpen(bobFile, "0644")] });
    expect(await hopwireHere("--home", home, "identity", "show", "alice")).toEqual({ code: 0, out: [alice], err: [] });
    chmodSync(bobFile, 0o640);
    expect(await hopwireHere("--home", home, "identity", "list")).toEqual({ code: 0, out: [`alice ${alice}`, `bob ${bob}`], err: [tooOpen(bobFile, "0640")] });
  });

  it("a node started with it (identity: { file }) warns on stderr, then runs (as a process)", async () => {
    const home = newHome();
    const bob = await create(home, "bob");
    const file = join(home, "identities", "bob.json");
    chmodSync(file, 0o604);
    const config = join(home, "node.yaml");
    writeFileSync(config, `identity:\n  file: ${file}\ntcpListeners:\n  - address: 127.0.0.1:0\n`);
    const node = hopwire(["--home", home, "node", config]);
    await node.line(new RegExp(` identity ${bob}$`));
    await node.line(/ ready$/);
    await terminate(node);
    await outputClosed(node);
    // A running node's warning carries the time, as its log lines do.
    expect(node.stderr()).toMatch(new RegExp(`^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z ${escapeRegExp(tooOpen(file, "0604"))}\\n$`));
  });
});

describe("where identities are kept", () => {
  // An empty HOPWIRE_HOME was the working directory: `identity create` wrote a secret key into ./identities.
  it("an empty --home or HOPWIRE_HOME counts as unset (~/.hopwire), never the working directory", async () => {
    const { hopwireHome, HOPWIRE_HOME_ENV } = await import("@hopwire/cli");
    const saved = process.env[HOPWIRE_HOME_ENV];
    try {
      const fallback = join((await import("node:os")).homedir(), ".hopwire");
      process.env[HOPWIRE_HOME_ENV] = "";
      expect(hopwireHome()).toBe(fallback);
      expect(hopwireHome("")).toBe(fallback);
      process.env[HOPWIRE_HOME_ENV] = "/srv/hopwire";
      expect(hopwireHome()).toBe("/srv/hopwire");
      expect(hopwireHome("/elsewhere")).toBe("/elsewhere");
    } finally {
      if (saved === undefined) delete process.env[HOPWIRE_HOME_ENV];
      else process.env[HOPWIRE_HOME_ENV] = saved;
    }
  });
});

describe("a home where the identities directory cannot be made", { timeout: 60_000 }, () => {
  // Under /proc, Node's recursive mkdir never settled: `identity create` spun a CPU for ever.
  it.runIf(existsSync("/proc/self"))("under /proc: exits 2 and says which directory and why", async () => {
    const home = "/proc/hopwire-no-such-home";
    expect(await hopwireHere("--home", home, "identity", "create", "x")).toEqual({
      code: 2,
      out: [],
      err: [`hopwire: Cannot create the identities directory ${home}/identities: ENOENT: no such file or directory, mkdir '${home}' (choose another home with --home or HOPWIRE_HOME)`],
    });
  });

  it("a home that is a file: exits 2 with ENOTDIR, and the file is left as it was", async () => {
    const file = join(newHome(), "a-file");
    writeFileSync(file, "not a directory\n");
    const { code, out, err } = await hopwireHere("--home", file, "identity", "create", "x");
    expect({ code, out }).toEqual({ code: 2, out: [] });
    expect(err).toEqual([expect.stringMatching(new RegExp(`^hopwire: Cannot create the identities directory ${escapeRegExp(join(file, "identities"))}: ENOTDIR`))]);
    expect(readFileSync(file, "utf8")).toBe("not a directory\n");
  });

  it("makes every missing directory of a nested home, owner-only", async () => {
    const home = join(newHome(), "a", "b");
    await create(home, "x");
    for (const dir of [join(home, ".."), home, join(home, "identities")]) {
      expect(statSync(dir).mode & 0o777, dir).toBe(0o700);
    }
    expect(statSync(join(home, "identities", "x.json")).isFile()).toBe(true);
  });
});

describe("a home that is a file", { timeout: 60_000 }, () => {
  // `identity list` exited 1 with the bare "ENOTDIR: not a directory, scandir ...".
  it("identity list exits 2 and says which directory it could not read", async () => {
    const file = join(newHome(), "a-file");
    writeFileSync(file, "");
    const dir = join(file, "identities");
    expect(await hopwireHere("--home", file, "identity", "list")).toEqual({
      code: 2,
      out: [],
      err: [`hopwire: Cannot read the identities directory ${dir}: ENOTDIR: not a directory, scandir '${dir}' (choose another home with --home or HOPWIRE_HOME)`],
    });
  });
});
