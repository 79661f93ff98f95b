import { afterEach, describe, expect, it } from "vitest";
import { hopwire, hopwireHere, newHome, outputClosed, removeHomes, hopwireNodeWithFile } from "./processes.js";

afterEach(() => removeHomes());

// A host:port value that is not one (no colon, no host, no port, a port out of range) is a
// configuration error naming the key, with exit code 2: never an internal error.
describe("host:port values on the command line and in files", { timeout: 60_000 }, () => {
  it("outlet --to 18080: one line naming --to, exit code 2 (as a process)", async () => {
    const child = hopwire(["--home", newHome(), "outlet", "--trust-anyone", "--to", "18080", "--listen", "127.0.0.1:0"]);
    expect(await child.exited).toBe(2);
    await outputClosed(child);
    expect(child.stderr()).toBe('hopwire: command line: --to: "18080" has no host: write "host:port", e.g. "127.0.0.1:18080"\n');
    expect(child.lines).toEqual([]); // nothing started
  });

  const cases: [string[], string][] = [
    [["outlet", "--trust-anyone", "--to", "localhost", "--listen", "127.0.0.1:0"], '--to: "localhost" has no port: write "host:port", e.g. "localhost:4000"'],
    [["outlet", "--trust-anyone", "--to", ":80", "--listen", "127.0.0.1:0"], '--to: ":80" has no host: write "host:port", e.g. "127.0.0.1:80"'],
    [["outlet", "--trust-anyone", "--to", "host:", "--listen", "127.0.0.1:0"], '--to: "host:" has no port: write "host:port", e.g. "host:4000"'],
    [["outlet", "--trust-anyone", "--to", "db server:5432", "--listen", "127.0.0.1:0"], '--to: "db server:5432" has an invalid host "db server": expected a name, an IPv4 address or a bracketed IPv6 one ("[::1]:4000")'],
    [["outlet", "--trust-anyone", "--to", "127.0.0.1:0", "--listen", "127.0.0.1:0"], '--to: "127.0.0.1:0" has an invalid port 0: expected a port from 1 to 65535'],
    [["outlet", "--trust-anyone", "--to", "127.0.0.1:80", "--listen", "4000"], '--listen: "4000" has no host: write "host:port", e.g. "127.0.0.1:4000"'],
    [["inlet", "--trust-anyone", "--from", "17000", "--via", "127.0.0.1:4000"], '--from: "17000" has no host: write "host:port", e.g. "127.0.0.1:17000"'],
    [["inlet", "--trust-anyone", "--from", "127.0.0.1:0", "--via", "127.0.0.1:99999"], '--via: "127.0.0.1:99999" has an invalid port 99999: expected a port from 1 to 65535'],
    [["inlet", "--trust-anyone", "--from", "127.0.0.1:0", "--via", "bob@relay:"], '--via: "relay:" has no port: write "host:port", e.g. "relay:4000"'],
    [["relay", "--listen", "14000", "--allow-anyone"], '--listen: "14000" has no host: write "host:port", e.g. "127.0.0.1:14000"'],
    [["outlet", "--trust-anyone", "--to", "127.0.0.1:80", "--relay", "bob@14000"], '--relay: expected host:port, got "14000"'],
  ];
  for (const [args, message] of cases) {
    it(`${args.join(" ")}: command line: ${message.split(":")[0]}, exit code 2`, async () => {
      const { code, out, err } = await hopwireHere("--home", newHome(), ...args);
      expect(err).toEqual([`hopwire: command line: ${message}`]);
      expect(code).toBe(2);
      expect(out).toEqual([]);
    });
  }

  it("a configuration file: every host:port key", async () => {
    const home = newHome();
    const files: [string, string][] = [
      ['tcpListeners: [{ address: "4000" }]', 'tcpListeners[0].address: "4000" has no host: write "host:port", e.g. "127.0.0.1:4000"'],
      ["connections: { relay: relay.example.com }", 'connections.relay: "relay.example.com" has no port: write "host:port", e.g. "relay.example.com:4000"'],
      ["secureChannelListeners: [{ address: api, trust: everyone }]\ntcpListeners: [{ address: 127.0.0.1:0 }]\noutlets: [{ to: 127.0.0.1:80, allow: [db] }]", 'outlets[0].allow[0]: "db" has no port: write "host:port", e.g. "db:4000"'],
      ["inlets: [{ listen: 127.0.0.1:70000, via: 127.0.0.1:1, trust: everyone }]", 'inlets[0].listen: "127.0.0.1:70000" has an invalid port 70000: expected a port from 0 to 65535'],
      ["relays: [{ name: bob, at: ':4000' }]", 'relays[0].at: ":4000" has no host: write "host:port", e.g. "127.0.0.1:4000"'],
    ];
    for (const [i, [text, message]] of files.entries()) {
      const { path, code, out, err } = await hopwireNodeWithFile(home, `c${i}.yaml`, text + "\n");
      expect(err).toEqual([`hopwire: ${path}: ${message}`]);
      expect(code).toBe(2);
      expect(out).toEqual([]);
    }
  });
});
