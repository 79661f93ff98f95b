import { describe, expect, it } from "vitest";
import { formatHostPort, hostPortProblem, parseHostPort } from "@hopwire/runtime";

class Failed extends Error {}
const fail = (message: string): Error => new Failed(message);

/** The message parseHostPort throws for `text`, through `fail` (the test fails if it parses). */
function failure(text: unknown, options: { allowPortZero?: boolean; tcpAddress?: boolean } = {}): string {
  try {
    parseHostPort(text, "to", { allowPortZero: options.allowPortZero ?? false, tcpAddress: options.tcpAddress, fail });
  } catch (error) {
    expect(error).toBeInstanceOf(Failed);
    return (error as Error).message;
  }
  throw new Error(`expected ${JSON.stringify(text)} not to parse`);
}

// The one "host:port" grammar of the TCP transport, the portals and the CLI's configuration.
describe("parseHostPort and hostPortProblem", () => {
  it("reads a name, an IPv4 address or a bracketed IPv6 one (with a zone), and a port", () => {
    const parse = (text: string, allowPortZero = false) => parseHostPort(text, "to", { allowPortZero, fail });
    expect(parse("localhost:4000")).toEqual({ host: "localhost", port: 4000 });
    expect(parse(" db.example.com:5432 ")).toEqual({ host: "db.example.com", port: 5432 });
    expect(parse("127.0.0.1:65535")).toEqual({ host: "127.0.0.1", port: 65535 });
    expect(parse("[::1]:80")).toEqual({ host: "::1", port: 80 });
    expect(parse("[::ffff:127.0.0.1]:80")).toEqual({ host: "::ffff:127.0.0.1", port: 80 });
    expect(parse("[fe80::1%eth0]:80")).toEqual({ host: "fe80::1%eth0", port: 80 });
    expect(parse("127.0.0.1:0", true)).toEqual({ host: "127.0.0.1", port: 0 });
    expect(parseHostPort("1#h:1", "TCP address", { allowPortZero: false, tcpAddress: true, fail })).toEqual({ host: "h", port: 1 });
  });

  it("says what is wrong, naming the value", () => {
    expect(failure(4000)).toBe('to must be a "host:port" string, got number');
    expect(failure("5432")).toBe('to "5432" has no host: write "host:port", e.g. "127.0.0.1:5432"');
    expect(failure("nowhere")).toBe('to "nowhere" has no port: write "host:port", e.g. "nowhere:4000"');
    // Not a name either: the example is a whole address, not the input with a port glued on.
    expect(failure("not an address")).toBe('to "not an address" is not "host:port": write e.g. "127.0.0.1:4000"');
    expect(failure(":80")).toBe('to ":80" has no host: write "host:port", e.g. "127.0.0.1:80"');
    expect(failure("host:")).toBe('to "host:" has no port: write "host:port", e.g. "host:4000"');
    expect(failure("[::1]:")).toBe('to "[::1]:" has no port: write "host:port", e.g. "[::1]:4000"');
    expect(failure("::1:80")).toBe('to "::1:80": write IPv6 hosts in brackets, "[::1]:4000"');
    expect(failure("[::1]80")).toBe('to "[::1]80" is not "[ipv6]:port"');
    expect(failure("127.0.0.1:0")).toBe('to "127.0.0.1:0" has an invalid port 0: expected a port from 1 to 65535');
    expect(failure("127.0.0.1:70000", { allowPortZero: true })).toBe('to "127.0.0.1:70000" has an invalid port 70000: expected a port from 0 to 65535');
    expect(failure("h:x")).toBe('to "h:x" has an invalid port "x": expected a port from 1 to 65535');
    expect(failure("2#host:80", { tcpAddress: true })).toBe('to "2#host:80" is not a TCP address (type 1)');
  });

  it("says to drop a URL's scheme, rather than to bracket an IPv6 host", () => {
    expect(failure("tcp://127.0.0.1:4000")).toBe('to "tcp://127.0.0.1:4000": drop the "tcp://" scheme: write "127.0.0.1:4000"');
    expect(failure("http://localhost:8080/")).toBe('to "http://localhost:8080/": drop the "http://" scheme: write "localhost:8080"');
    expect(failure("HTTPS://[::1]:443/path?q#f")).toBe('to "HTTPS://[::1]:443/path?q#f": drop the "HTTPS://" scheme: write "[::1]:443"');
    expect(failure("git+ssh://example.com:22")).toBe('to "git+ssh://example.com:22": drop the "git+ssh://" scheme: write "example.com:22"');
    // What else is wrong once the scheme is gone, too.
    expect(failure("http://example.com")).toBe('to "http://example.com": drop the "http://" scheme; then "example.com" has no port: write "host:port", e.g. "example.com:4000"');
    expect(failure("tcp://127.0.0.1:0")).toBe('to "tcp://127.0.0.1:0": drop the "tcp://" scheme; then "127.0.0.1:0" has an invalid port 0: expected a port from 1 to 65535');
    expect(failure("tcp://127.0.0.1:0", { allowPortZero: true })).toBe('to "tcp://127.0.0.1:0": drop the "tcp://" scheme: write "127.0.0.1:0"');
    expect(failure("tcp://")).toBe('to "tcp://": drop the "tcp://" scheme and write "host:port", e.g. "127.0.0.1:4000"');
    expect(hostPortProblem("tcp://127.0.0.1:4000", { allowPortZero: false })).toBe('"tcp://127.0.0.1:4000": drop the "tcp://" scheme: write "127.0.0.1:4000"');
  });

  it("refuses a host that is no name, IPv4 or IPv6 address (the CLI's grammar, now everyone's)", () => {
    for (const [text, host] of [
      ["my host:80", "my host"],
      ["db/1:80", "db/1"],
      ["[nope]:80", "nope"],
      ["1#h:1", "1#h"], // a route's TCP address only where tcpAddress says so
    ]) {
      expect(failure(text)).toBe(`to ${JSON.stringify(text)} has an invalid host ${JSON.stringify(host)}: expected a name, an IPv4 address or a bracketed IPv6 one ("[::1]:4000")`);
    }
  });

  it("hostPortProblem is the same message without the name, or undefined", () => {
    expect(hostPortProblem("127.0.0.1:4000", { allowPortZero: false })).toBeUndefined();
    expect(hostPortProblem("127.0.0.1:0", { allowPortZero: true })).toBeUndefined();
    expect(hostPortProblem("18080", { allowPortZero: false })).toBe('"18080" has no host: write "host:port", e.g. "127.0.0.1:18080"');
    expect(hostPortProblem("127.0.0.1:0", { allowPortZero: false })).toBe(failure("127.0.0.1:0").slice("to ".length));
  });

  it("formatHostPort brackets an IPv6 host", () => {
    expect(formatHostPort("::1", 80)).toBe("[::1]:80");
    expect(formatHostPort("localhost", 80)).toBe("localhost:80");
  });
});
