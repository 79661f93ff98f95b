import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { hopwireHere, newHome, removeHomes } from "./processes.js";

afterEach(() => removeHomes());

const docs = readFileSync(new URL("../../../docs/cli.md", import.meta.url), "utf8");

/** The example error lines of docs/cli.md ("Errors and exit codes"), as written there. */
function documentedErrorLines(): string[] {
  const section = docs.slice(docs.indexOf("## Errors and exit codes"));
  const block = /```\n([\s\S]*?)```/.exec(section)![1]!;
  return block.trimEnd().split("\n");
}

/**
 * What produces each documented line: a file `bob.yaml` with this text (run as
 * `hopwire node bob.yaml`), or command-line arguments. A line ending in "…" is a prefix.
 */
const producers: Record<string, { yaml: string } | { args: string[] }> = {
  "hopwire: bob.yaml: secureChannelListeners[0].address: missing key, expected a name string": { yaml: "secureChannelListeners:\n  - trust: everyone\n" },
  "hopwire: bob.yaml: secureChannelListeners[0].trust: missing key: expected the identities that may open channels to it, trust: [I…] (hopwire identity show <name> prints one), or trust: everyone to let any identity in (a relay node's listener, demos)":
    { yaml: "secureChannelListeners:\n  - address: api\n" },
  // The reference's placeholder, copied as it stands.
  'hopwire: bob.yaml: inlets[0].trust[0]: expected an identifier: "I" followed by 64 lowercase hex digits (hopwire identity show <name> prints one; "I9f92…" in the docs is one cut short, to be written whole)':
    { yaml: "inlets:\n  - listen: 127.0.0.1:7000\n    via: 127.0.0.1:4000\n    trust: [I9f92…]\n" },
  'hopwire: bob.yaml: tcpListeners[0].address: expected a "host:port" string, got number': { yaml: "tcpListeners:\n  - address: 4000\n" },
  "hopwire: bob.yaml: tcpListeners[0].adress: unknown key, expected one of: address, maxConnections, maxConnectionsPerHost, idleTimeout": { yaml: "tcpListeners:\n  - adress: 127.0.0.1:4000\n" },
  'hopwire: bob.yaml: identity.file: cannot read the identity file "/keys/bob.json" (ENOENT)': { yaml: "identity:\n  file: /keys/bob.json\n" },
  'hopwire: bob.yaml: identity: No identity called "carol" in /home/me/.hopwire/identities (create it with: hopwire identity create carol)': {
    yaml: "identity: carol\n",
  },
  'hopwire: bob.yaml: inlets[0].via: expected a name from "connections" or "host:port", got "relay"': { yaml: "inlets:\n  - listen: 127.0.0.1:7000\n    via: relay\n    trust: everyone\n" },
  "hopwire: bob.yaml: not valid YAML: Map keys must be unique at line 3, column 1": { yaml: "identity: bob\ntcpListeners: []\nidentity: alice\n" },
  "hopwire: unknown option '--listn' (Did you mean --listen?)": { args: ["relay", "--listn", "0.0.0.0:4000"] },
  'hopwire: command line: --relay: expected <name>@<host:port>, got "bob"': { args: ["outlet", "--trust-anyone", "--to", "127.0.0.1:5432", "--relay", "bob"] },
  'hopwire: command line: --via: expected host:port, or <name>@<host:port> with the relay\'s name before "@", got "@127.0.0.1:4000"': {
    args: ["inlet", "--trust-anyone", "--from", "127.0.0.1:0", "--via", "@127.0.0.1:4000"],
  },
  'hopwire: command line: --allow: expected <name>=<identifier>, got "bob"': { args: ["relay", "--listen", "127.0.0.1:0", "--allow", "bob"] },
  'hopwire: command line: --to: "18080" has no host: write "host:port", e.g. "127.0.0.1:18080"': { args: ["outlet", "--trust-anyone", "--to", "18080", "--listen", "127.0.0.1:0"] },
  "hopwire: command line: --trust: expected an identifier: \"I\" followed by 64 lowercase hex digits, got \"bob\" (if that is an identity's name: hopwire identity show bob prints its identifier)": {
    args: ["outlet", "--to", "127.0.0.1:5432", "--listen", "127.0.0.1:0", "--trust", "bob"],
  },
  "hopwire: command line: outlet: nothing could reach it: add --listen <host:port> (inlets connect to this node) or --relay <name>@<host:port> (this node registers <name> at a relay node), or both": {
    args: ["outlet", "--trust-anyone", "--to", "127.0.0.1:5432"],
  },
};

/** Runs what produces `line` and returns the one line it wrote on stderr, with the file's directory removed. */
async function produce(line: string): Promise<string> {
  const how = producers[line];
  if (how === undefined) throw new Error(`docs/cli.md shows an error line no test produces; add it to producers: ${line}`);
  // --home as the example shows it: nothing is written there (the identity is only looked up).
  const home = "/home/me/.hopwire";
  const dir = newHome();
  let args: string[];
  if ("yaml" in how) {
    writeFileSync(join(dir, "bob.yaml"), how.yaml);
    args = ["node", join(dir, "bob.yaml")];
  } else {
    args = how.args;
  }
  const { code, out, err } = await hopwireHere("--home", home, ...args);
  expect(code).toBe(2);
  expect(out).toEqual([]);
  expect(err).toHaveLength(1);
  return err[0]!.replace(`${dir}/`, "");
}

describe("docs/cli.md's example errors", { timeout: 60_000 }, () => {
  it("are what the command prints, each exactly", async () => {
    const lines = documentedErrorLines();
    expect(lines.length).toBeGreaterThanOrEqual(12);
    for (const line of lines) {
      const printed = await produce(line);
      if (line.endsWith("…")) expect(printed.startsWith(line.slice(0, -1)), printed).toBe(true);
      else expect(printed).toBe(line);
    }
  });

  it("the one-liners' example (--relay-trust) too", async () => {
    const example = /`(command line: --relay-trust: expected an identifier) …`/.exec(docs)![1]!;
    const { code, err } = await hopwireHere("outlet", "--trust-anyone", "--to", "127.0.0.1:5432", "--relay", "bob@127.0.0.1:4000", "--relay-trust", "Inope");
    expect(code).toBe(2);
    expect(err).toHaveLength(1);
    expect(err[0]!.startsWith(`hopwire: ${example}`), err[0]).toBe(true);
  });
});
