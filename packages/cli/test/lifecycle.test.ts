import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { hopwire, hopwireHere, newHome, removeHomes, terminate, hopwireNodeWithFile } from "./processes.js";

afterEach(() => removeHomes());

describe("a node runs until SIGINT/SIGTERM", { timeout: 60_000 }, () => {
  // Neither configuration opens a socket: nothing but the CLI itself holds the process open.
  // It used to print "ready" and end at once (exit 0, no stopping/stopped), so the SIGTERM
  // sent on "ready" found it gone or going.
  it("an empty configuration, and one with only a secure channel listener: ready, then stopping/stopped on SIGTERM, exit 0", async () => {
    const home = newHome();
    writeFileSync(join(home, "empty.yaml"), "");
    writeFileSync(join(home, "channel-only.yaml"), "secureChannelListeners:\n  - address: api\n    trust: everyone\n");
    const nodes = ["empty.yaml", "channel-only.yaml"].map((file) => hopwire(["--home", home, "node", join(home, file)]));
    await Promise.all(nodes.map((n) => n.line(/ ready$/)));
    await Promise.all(nodes.map((n) => terminate(n)));
  });
});

describe("a configuration nothing could reach is an error (exit 2) that says what to add", { timeout: 60_000 }, () => {
  it("outlet with neither --listen nor --relay", async () => {
    const { code, out, err } = await hopwireHere("--home", newHome(), "outlet", "--trust-anyone", "--to", "127.0.0.1:5432");
    expect(err).toEqual([
      "hopwire: command line: outlet: nothing could reach it: add --listen <host:port> (inlets connect to this node) " +
        "or --relay <name>@<host:port> (this node registers <name> at a relay node), or both",
    ]);
    expect(code).toBe(2);
    expect(out).toEqual([]);
  });

  it("a file with outlets and neither tcpListeners nor relays; a relay service without tcpListeners", async () => {
    const home = newHome();
    const files: [string, string][] = [
      ["secureChannelListeners: [{ address: api, trust: everyone }]\noutlets: [{ to: 127.0.0.1:5432 }]\n", "outlets: unreachable: expected tcpListeners (inlets connect to this node) or relays (this node registers at a relay node), or both"],
      ["secureChannelListeners: [{ address: api, trust: everyone }]\nrelayService: { allow: everyone }\n", "tcpListeners: missing: a relay service's forwarders are reached through this node's TCP listeners, expected at least one"],
    ];
    for (const [i, [text, message]] of files.entries()) {
      const { path, code, out, err } = await hopwireNodeWithFile(home, `n${i}.yaml`, text);
      expect(err).toEqual([`hopwire: ${path}: ${message}`]);
      expect(code).toBe(2);
      expect(out).toEqual([]);
    }
  });
});
