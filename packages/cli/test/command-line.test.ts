import { readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { hopwire, hopwireHere, newHome, outputClosed, removeHomes, terminate } from "./processes.js";

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

  // Commander checked required options before unknown ones: `relay --listn x` said
  // "required option '--listen <host:port>' not specified" and never named the typo.
  const usage: [string[], string][] = [
    [["relay", "--listn", "127.0.0.1:4000"], "hopwire: unknown option '--listn' (Did you mean --listen?)"],
    [["outlet", "--to", "127.0.0.1:80", "--listen", "127.0.0.1:0", "--trus", "x"], "hopwire: unknown option '--trus' (Did you mean --trust?)"],
    [["inlet", "--frm", "127.0.0.1:0"], "hopwire: unknown option '--frm' (Did you mean --from?)"],
    [["relay"], "hopwire: required option '--listen <host:port>' not specified"],
    [["inlet", "--trust-anyone", "--from", "127.0.0.1:0"], "hopwire: required option '--via <[name@]host:port>' not specified"],
    // Commander said "too many arguments for 'relay'. Expected 0 arguments but got 1.", not which (a user's was an empty $ALICE).
    [["relay", "--listen", "127.0.0.1:0", "extra"], `hopwire: unexpected argument "extra" for 'relay' (it takes none): is the flag before it missing, or a shell variable before it empty?`],
    [["identity", "create", "a", "b", "c"], `hopwire: unexpected arguments "b" "c" for 'create' (it takes 1): is the flag before it missing, or a shell variable before it empty?`],
    // An allow-list silently thrown away, or a relay no outlet may use.
    [
      ["relay", "--listen", "127.0.0.1:0", "--allow", "bob=Iabc", "--allow-anyone"],
      "hopwire: command line: relay: --allow-anyone lets any identity register any name, so the --allow rules would be ignored: give one or the other",
    ],
    // Trusting everyone was the default, without a word: an outlet's service open to anyone who reached the relay node,
    // an inlet taking whatever answered for the outlet (a user trial, session 56).
    [
      ["outlet", "--to", "127.0.0.1:5432", "--listen", "127.0.0.1:0"],
      "hopwire: command line: outlet: anyone who reaches this node would reach 127.0.0.1:5432: add --trust <identifier> (repeatable; the inlet's identity, from hopwire identity show), or --trust-anyone for a demo",
    ],
    [
      ["inlet", "--from", "127.0.0.1:0", "--via", "bob@127.0.0.1:4000"],
      "hopwire: command line: inlet: any node that answers at --via (a relay node too) could pose as the outlet's and read its clients' traffic: add --trust <identifier> (repeatable; the outlet node's identity, from hopwire identity show), or --trust-anyone for a demo",
    ],
    [
      ["inlet", "--from", "127.0.0.1:0", "--via", "127.0.0.1:4000", "--trust-anyone", "--trust", `I${"ab".repeat(32)}`],
      "hopwire: command line: inlet: --trust-anyone trusts every identity, so the --trust identifiers would be ignored: give one or the other",
    ],
    // The flag and the value, not the configuration key the flag sets ("secureChannelListeners[0].trust[0]: expected an identifier…").
    [
      ["outlet", "--to", "127.0.0.1:1", "--listen", "127.0.0.1:0", "--trust", "bob"],
      `hopwire: command line: --trust: expected an identifier: "I" followed by 64 lowercase hex digits, got "bob" (if that is an identity's name: hopwire identity show bob prints its identifier)`,
    ],
    // `--allow bob=$(hopwire identity show bob)` whose command failed: it suggested "hopwire identity show  prints its identifier".
    [
      ["relay", "--listen", "127.0.0.1:0", "--allow", "bob="],
      `hopwire: command line: --allow: expected an identifier: "I" followed by 64 lowercase hex digits, got "" (an empty value: did the command that should print it, such as $(hopwire identity show <name>), fail? Its error is above)`,
    ],
    [["relay", "--listen", "127.0.0.1:0", "--allow", "bob=Ixyz"], `hopwire: command line: --allow: expected an identifier: "I" followed by 64 lowercase hex digits, got "Ixyz"`],
    [
      ["relay", "--listen", "127.0.0.1:0", "--allow-anyone", "--identity", "../etc"],
      `hopwire: command line: --identity: expected 1 to 64 letters, digits, "_", "-" or ".", got "../etc" (--identity takes the name of an identity in the store: hopwire identity list)`,
    ],
    [["outlet", "--trust-anyone", "--to", "127.0.0.1:1", "--relay", "bob@127.0.0.1"], `hopwire: command line: --relay: expected host:port, got "127.0.0.1"`],
    // Another key the problem names is said in the command's terms too, and a name with a "." keeps its value.
    [
      ["outlet", "--trust-anyone", "--to", "127.0.0.1:1", "--listen", "127.0.0.1:0", "--address", "api"],
      `hopwire: command line: --address: the address "api" is already taken by the command's own secure channel listener "api": every worker of a node needs an address of its own`,
    ],
    [["relay", "--listen", "127.0.0.1:0", "--allow", "a.b=Iabc"], `hopwire: command line: --allow: expected an identifier: "I" followed by 64 lowercase hex digits, got "Iabc"`],
    // Without "=", the name was checked as an identifier: "relayService.allow.bob[0]: expected an identifier".
    [["relay", "--listen", "127.0.0.1:0", "--allow", "bob"], 'hopwire: command line: --allow: expected <name>=<identifier>, got "bob"'],
    [["relay", "--listen", "127.0.0.1:0", "--allow", `=I${"ab".repeat(32)}`], `hopwire: command line: --allow: expected <name>=<identifier>, got "=I${"ab".repeat(32)}"`],
    // A flag that only means something beside another one: --relay-trust was silently ignored without --relay.
    [
      ["outlet", "--trust-anyone", "--to", "127.0.0.1:1", "--listen", "127.0.0.1:0", "--relay-trust", `I${"ab".repeat(32)}`],
      "hopwire: command line: outlet: --relay-trust pins the identity of the relay node of --relay, and there is no --relay: add --relay <name>@<host:port>, or leave out --relay-trust",
    ],
    [
      ["relay", "--listen", "127.0.0.1:0"],
      "hopwire: command line: relay: no one may register a name: add --allow <name>=<identifier> (repeatable; the outlet's identity, from hopwire identity show), or --allow-anyone for a demo",
    ],
    // A flag that takes one value, given twice: the last one silently won (the outlet registered carol only).
    [
      ["outlet", "--trust-anyone", "--to", "127.0.0.1:1", "--relay", "bob@127.0.0.1:1", "--relay", "carol@127.0.0.1:1"],
      'hopwire: command line: --relay given twice ("bob@127.0.0.1:1", then "carol@127.0.0.1:1"): it takes one value, and the last one would silently win',
    ],
    [
      ["outlet", "--trust-anyone", "--to", "127.0.0.1:1", "--to", "127.0.0.1:2", "--listen", "127.0.0.1:0"],
      'hopwire: command line: --to given twice ("127.0.0.1:1", then "127.0.0.1:2"): it takes one value, and the last one would silently win',
    ],
    [
      ["inlet", "--trust-anyone", "--from", "127.0.0.1:0", "--via", "127.0.0.1:1", "--outlet", "a", "--outlet", "b"],
      'hopwire: command line: --outlet given twice ("a", then "b"): it takes one value, and the last one would silently win',
    ],
    [
      ["relay", "--listen", "127.0.0.1:0", "--listen", "127.0.0.1:0", "--allow-anyone"],
      'hopwire: command line: --listen given twice ("127.0.0.1:0", then "127.0.0.1:0"): it takes one value, and the last one would silently win',
    ],
  ];
  for (const [args, line] of usage) {
    it(`${args.join(" ")}: one line naming the problem, exit code 2`, async () => {
      expect(await hopwireHere("--home", newHome(), ...args)).toEqual({ code: 2, out: [], err: [line] });
    });
  }

  it("--home given twice: one line naming both, exit code 2 (the last one silently won)", async () => {
    const [a, b] = [newHome(), newHome()];
    expect(await hopwireHere("--home", a, "--home", b, "identity", "list")).toEqual({
      code: 2,
      out: [],
      err: [`hopwire: command line: --home given twice (${JSON.stringify(a)}, then ${JSON.stringify(b)}): it takes one value, and the last one would silently win`],
    });
  });

  // `(allow[name] ??= []).push(...)` on a plain object found Object.prototype's toString:
  // "allow[name].push is not a function", exit 1. They are valid relay names.
  it("relay --allow takes the names toString, constructor and __proto__ (as a process)", async () => {
    const id = "I" + "ab".repeat(32);
    const names = ["toString", "constructor", "__proto__"];
    const relay = hopwire(["--home", newHome(), "relay", "--listen", "127.0.0.1:0", ...names.flatMap((n) => ["--allow", `${n}=${id}`])]);
    await relay.line(/ relay service forwarding_service \(toString, constructor, __proto__\)$/);
    await relay.line(/ ready$/);
    await terminate(relay);
    await outputClosed(relay);
    expect(relay.stderr()).toBe("");
  });
});
