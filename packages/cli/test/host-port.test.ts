import { afterEach, describe, expect, it } from "vitest";
import { hopwire, hopwireHere, newHome, outputClosed, removeHomes, hopwireNodeWithFile } from "./processes.js";

afterEach(() => removeHomes());

// A host:port value that is not one (no colon, no host, no port, a port out of range) is a
// configuration error naming the key, with exit code 2: never an internal error.
describe("host:port values on the command line and in files", { timeout: 60_000 }, () => {
  it("outlet --to 18080: one line naming outlets[0].to, exit code 2 (as a process)", async () => {
    const child = hopwire(["--home", newHome(), "outlet", "--to", "18080", "--listen", "127.0.0.1:0"]);
    expect(await child.exited).toBe(2);
    await outputClosed(child);
    expect(child.stderr()).toBe('hopwire: command line: outlets[0].to: expected "host:port" (e.g. "127.0.0.1:4000"), got "18080"\n');
    expect(child.lines).toEqual([]); // nothing started
  });

  const cases: [string[], string][] = [
    [["outlet", "--to", "localhost", "--listen", "127.0.0.1:0"], 'outlets[0].to: expected "host:port" (e.g. "127.0.0.1:4000"), got "localhost"'],
    [["outlet", "--to", ":80", "--listen", "127.0.0.1:0"], 'outlets[0].to: expected "host:port" (e.g. "127.0.0.1:4000"), got ":80"'],
    [["outlet", "--to", "host:", "--listen", "127.0.0.1:0"], 'outlets[0].to: expected "host:port" (e.g. "127.0.0.1:4000"), got "host:"'],
    [["outlet", "--to", "127.0.0.1:0", "--listen", "127.0.0.1:0"], 'outlets[0].to: expected a port from 1 to 65535, got "127.0.0.1:0"'],
    [["outlet", "--to", "127.0.0.1:80", "--listen", "4000"], 'tcpListeners[0].address: expected "host:port" (e.g. "127.0.0.1:4000"), got "4000"'],
    [["inlet", "--from", "17000", "--via", "127.0.0.1:4000"], 'inlets[0].listen: expected "host:port" (e.g. "127.0.0.1:4000"), got "17000"'],
    [["inlet", "--from", "127.0.0.1:0", "--via", "127.0.0.1:99999"], 'inlets[0].via: expected a port from 1 to 65535, got "127.0.0.1:99999"'],
    [["inlet", "--from", "127.0.0.1:0", "--via", "bob@relay:"], 'inlets[0].via: expected "host:port" (e.g. "127.0.0.1:4000"), got "relay:"'],
    [["relay", "--listen", "14000", "--allow-anyone"], 'tcpListeners[0].address: expected "host:port" (e.g. "127.0.0.1:4000"), got "14000"'],
    [["outlet", "--to", "127.0.0.1:80", "--relay", "bob@14000"], 'relays[0].at: expected a name from "connections" or "host:port", got "14000"'],
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
      ['tcpListeners: [{ address: "4000" }]', 'tcpListeners[0].address: expected "host:port" (e.g. "127.0.0.1:4000"), got "4000"'],
      ["connections: { relay: relay.example.com }", 'connections.relay: expected "host:port" (e.g. "127.0.0.1:4000"), got "relay.example.com"'],
      ["secureChannelListeners: [{ address: api }]\ntcpListeners: [{ address: 127.0.0.1:0 }]\noutlets: [{ to: 127.0.0.1:80, allow: [db] }]", 'outlets[0].allow[0]: expected "host:port" (e.g. "127.0.0.1:4000"), got "db"'],
      ["inlets: [{ listen: 127.0.0.1:70000, via: 127.0.0.1:1 }]", 'inlets[0].listen: expected a port from 0 to 65535, got "127.0.0.1:70000"'],
      ["relays: [{ name: bob, at: ':4000' }]", 'relays[0].at: expected "host:port" (e.g. "127.0.0.1:4000"), got ":4000"'],
    ];
    for (const [i, [text, message]] of files.entries()) {
      const { path, code, out, err } = await hopwireNodeWithFile(home, `c${i}.yaml`, text + "\n");
      expect(err).toEqual([`hopwire: ${path}: ${message}`]);
      expect(code).toBe(2);
      expect(out).toEqual([]);
    }
  });
});
