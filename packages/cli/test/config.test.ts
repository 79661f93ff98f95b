import { describe, expect, it } from "vitest";
import { allowRegistrations } from "@hopwire/relay";
import { ConfigError, parseConfig, resolvePeer } from "../dist/index.js";

const bob = "I" + "ab".repeat(32);

/** What parseConfig throws for `raw` (undefined if it takes it). */
function thrownBy(raw: unknown): unknown {
  try {
    parseConfig(raw, "test");
  } catch (error) {
    return error;
  }
  return undefined;
}

describe("node configuration", () => {
  it("fills in the documented defaults", () => {
    const config = parseConfig(
      {
        tcpListeners: [{ address: "127.0.0.1:0" }],
        secureChannelListeners: [{ address: "api", trust: "everyone" }],
        relayService: { allow: { bob: [bob] } },
        relays: [{ name: "bob", at: "relay" }],
        connections: { relay: "127.0.0.1:4000" },
        outlets: [{ to: "127.0.0.1:5432" }],
        inlets: [{ listen: "127.0.0.1:7000", via: "relay", relay: "bob", trust: [bob] }],
      },
      "test",
    );
    expect(config.secureChannelListeners![0]).toEqual({ address: "api", trust: "everyone" });
    expect(config.relayService).toEqual({ address: "forwarding_service", allow: { bob: [bob] } });
    expect(config.relays![0]).toEqual({ name: "bob", at: "relay", trust: "everyone", listener: "api", service: "forwarding_service" });
    expect(config.outlets![0]).toEqual({ address: "outlet", to: "127.0.0.1:5432" });
    expect(config.inlets![0]).toEqual({ listen: "127.0.0.1:7000", via: "relay", relay: "bob", listener: "api", trust: [bob], outlet: "outlet" });
  });

  // zod's record dropped a "__proto__" key (a valid name): the rule or the connection was
  // silently gone. Names an object's prototype has are only ever the file's own keys.
  it("keeps relay names and connections called __proto__, constructor or toString, and invents none", () => {
    const alice = "I" + "cd".repeat(32);
    // JSON.parse, like the YAML parser, makes "__proto__" an own key (an object literal would set the prototype).
    const raw: unknown = JSON.parse(`{
      "tcpListeners": [{ "address": "127.0.0.1:0" }],
      "secureChannelListeners": [{ "address": "api", "trust": "everyone" }],
      "relayService": { "allow": { "__proto__": ["${alice}"], "toString": ["${bob}"], "constructor": ["${bob}"] } },
      "connections": { "__proto__": "127.0.0.1:4001", "relay": "127.0.0.1:4000" },
      "inlets": [{ "listen": "127.0.0.1:7000", "via": "__proto__", "trust": "everyone" }]
    }`);
    const config = parseConfig(raw, "test");
    const allow = config.relayService!.allow as Record<string, string[]>;
    expect(Object.keys(allow)).toEqual(["__proto__", "toString", "constructor"]);
    expect(Object.getPrototypeOf(allow)).toBeNull();
    const policy = allowRegistrations(allow);
    expect([policy("__proto__", alice), policy("toString", bob), policy("constructor", bob), policy("valueOf", bob)]).toEqual([true, true, true, false]);
    expect(Object.keys(config.connections!)).toEqual(["__proto__", "relay"]);
    expect(resolvePeer(config, "__proto__")).toBe("127.0.0.1:4001");
    expect(resolvePeer(config, "toString")).toBe("toString");
    for (const via of ["toString", "constructor", "hasOwnProperty"]) {
      expect(() => parseConfig({ connections: { relay: "127.0.0.1:4000" }, inlets: [{ listen: "127.0.0.1:7000", via, trust: "everyone" }] }, "test")).toThrow(
        `test: inlets[0].via: expected a name from "connections" or "host:port", got "${via}"`,
      );
    }
  });

  it("refuses two listeners on one port, one name registered twice at one relay node, and YAML-tagged values, naming the key", () => {
    const problems: [unknown, string][] = [
      // Both were accepted; the node then failed with EADDRINUSE (exit 1), naming no key.
      [{ tcpListeners: [{ address: "127.0.0.1:4000" }, { address: "127.0.0.1:4000" }] }, "test: tcpListeners[1].address: port 4000 is already taken by tcpListeners[0].address (127.0.0.1:4000): two listeners cannot share a port"],
      [{ tcpListeners: [{ address: "0.0.0.0:4000" }, { address: "127.0.0.1:4000" }] }, "test: tcpListeners[1].address: port 4000 is already taken by tcpListeners[0].address (0.0.0.0:4000): two listeners cannot share a port"],
      // Registered twice, the second replacing the first, both logged "registered".
      [
        { connections: { relay: "127.0.0.1:4000" }, relays: [{ name: "bob", at: "relay" }, { name: "bob", at: "127.0.0.1:4000" }] },
        'test: relays[1].name: "bob" is already registered at 127.0.0.1:4000 by relays[0].name: a name is registered once per relay node',
      ],
      // !!binary made a Buffer, which the schema described as "unknown key (and 1, 2, 3, …, readBigUInt64LE, …)".
      [{ identity: Buffer.from("bob") }, "test: identity: expected text, a number, true/false, a list or a map, got binary data (a YAML !!binary value)"],
      [{ tcpListeners: [{ address: "127.0.0.1:0", idleTimeout: new Date(0) }] }, "test: tcpListeners[0].idleTimeout: expected text, a number, true/false, a list or a map, got a timestamp (a YAML !!timestamp value)"],
      [{ connections: new Map([["relay", "127.0.0.1:4000"]]) }, "test: connections: expected text, a number, true/false, a list or a map, got an ordered map (a YAML !!omap or !!pairs value)"],
    ];
    for (const [raw, message] of problems) {
      const thrown = thrownBy(raw);
      expect(thrown, message).toBeInstanceOf(ConfigError);
      expect((thrown as Error).message).toBe(message);
    }
    // Port 0 repeats (a free port each time); the same name at two relay nodes is redundancy.
    expect(() => parseConfig({ tcpListeners: [{ address: "127.0.0.1:0" }, { address: "127.0.0.1:0" }, { address: "127.0.0.2:4000" }, { address: "127.0.0.1:4000" }] }, "test")).not.toThrow();
    // IPv4's every-interface and an IPv6 address bind side by side; IPv6's every-interface takes IPv4 too.
    expect(() => parseConfig({ tcpListeners: [{ address: "0.0.0.0:4000" }, { address: "[::1]:4000" }] }, "test")).not.toThrow();
    expect(() => parseConfig({ tcpListeners: [{ address: "[::]:4000" }, { address: "127.0.0.1:4000" }] }, "test")).toThrow(/port 4000 is already taken by tcpListeners\[0\]\.address/);
    expect(() => parseConfig({ relays: [{ name: "bob", at: "127.0.0.1:4000" }, { name: "bob", at: "127.0.0.1:4001" }] }, "test")).not.toThrow();
  });

  it("compares hosts without regard to case: one relay node or one listening address however it is written", () => {
    // Both were accepted: the two registrations replaced each other at the one relay node, and the
    // second listener failed with EADDRINUSE (exit 1), naming no key.
    expect((thrownBy({ relays: [{ name: "bob", at: "localhost:4000" }, { name: "bob", at: "LocalHost:4000" }] }) as Error | undefined)?.message).toBe(
      'test: relays[1].name: "bob" is already registered at LocalHost:4000 by relays[0].name: a name is registered once per relay node',
    );
    expect(thrownBy({ relays: [{ name: "bob", at: "[::ABCD]:4000" }, { name: "bob", at: "[::abcd]:4000" }] })).toBeInstanceOf(ConfigError);
    // An IPv6 zone names an interface, and interface names are case-sensitive: two zones, two addresses.
    expect(thrownBy({ tcpListeners: [{ address: "[fe80::1%eth0]:4000" }, { address: "[fe80::1%ETH0]:4000" }] })).toBeUndefined();
    expect(thrownBy({ relays: [{ name: "bob", at: "[FE80::1%eth0]:4000" }, { name: "bob", at: "[fe80::1%ETH0]:4000" }] })).toBeUndefined();
    expect(thrownBy({ relays: [{ name: "bob", at: "[FE80::1%eth0]:4000" }, { name: "bob", at: "[fe80::1%eth0]:4000" }] })).toBeInstanceOf(ConfigError);
    expect((thrownBy({ tcpListeners: [{ address: "localhost:4000" }, { address: "LOCALHOST:4000" }] }) as Error | undefined)?.message).toBe(
      "test: tcpListeners[1].address: port 4000 is already taken by tcpListeners[0].address (localhost:4000): two listeners cannot share a port",
    );
  });

  // They defaulted to everyone, where the outlet and inlet commands require --trust or --trust-anyone
  // (session 56): a file that left trust out exposed its outlet's target to anyone who reached the
  // node, or let a relay node pose as the outlet's node, and said nothing.
  it("requires trust of a secure channel listener and of an inlet, saying both ways to write it", () => {
    const problems: [unknown, string][] = [
      [
        { tcpListeners: [{ address: "127.0.0.1:0" }], secureChannelListeners: [{ address: "api" }], outlets: [{ to: "127.0.0.1:5432" }] },
        "test: secureChannelListeners[0].trust: missing key: expected the identities that may open channels to it, trust: [I…] (hopwire identity show <name> prints one), " +
          "or trust: everyone to let any identity in (a relay node's listener, demos)",
      ],
      [
        { inlets: [{ listen: "127.0.0.1:7000", via: "127.0.0.1:4000", relay: "bob" }] },
        "test: inlets[0].trust: missing key: expected the outlet node's identity, trust: [I…] (hopwire identity show <name> prints it), " +
          "or trust: everyone to take any node that answers at via as the outlet's, a relay node too (demos)",
      ],
    ];
    for (const [raw, message] of problems) expect((thrownBy(raw) as Error | undefined)?.message).toBe(message);
    // A relay registration's trust pins the relay node, as --relay-trust (default: any) does: still optional.
    expect(parseConfig({ relays: [{ name: "bob", at: "127.0.0.1:4000" }] }, "test").relays![0]!.trust).toBe("everyone");
  });

  it("names the source, the key path and what was expected, in one line", () => {
    const problems: [unknown, string][] = [
      [{ relays: [{ name: "bob" }] }, 'test: relays[0].at: missing key, expected a connection name or "host:port"'],
      // A misspelt key is a missing one too: the unknown key is what names the typo.
      [{ relays: [{ name: "bob", att: "relay" }] }, "test: relays[0].att: unknown key, expected one of: name, at, trust, listener, service"],
      [{ relayService: { allow: { bob: ["nope"] } }, secureChannelListeners: [{ address: "api", trust: "everyone" }] }, 'test: relayService.allow.bob[0]: expected an identifier: "I" followed by 64 lowercase hex digits (hopwire identity show <name> prints one; "I9f92…" in the docs is one cut short, to be written whole)'],
      [{ relayService: { allow: { bob: bob } }, secureChannelListeners: [{ address: "api", trust: "everyone" }] }, "test: relayService.allow.bob: expected a list, got string"],
      // Names of dots only were names: an identity ".." was the hidden file "...json".
      [{ identity: ".." }, 'test: identity: expected a name that is not only dots ("." and ".." name directories)'],
      [{ secureChannelListeners: [{ address: ".", trust: "everyone" }] }, 'test: secureChannelListeners[0].address: expected a name that is not only dots ("." and ".." name directories)'],
      [{ identity: "../bob" }, 'test: identity: expected 1 to 64 letters, digits, "_", "-" or "."; an identity file is written identity: { file: "../bob" }'],
      // A misspelt key of { file } said only "expected an identity name or { file }"; an empty path read the config's directory.
      [{ identity: { fle: "bob.json" } }, "test: identity.fle: unknown key, expected one of: file"],
      [{ identity: {} }, "test: identity.file: missing key, expected a file path string"],
      [{ identity: { file: "" } }, "test: identity.file: expected a file path, not an empty string"],
      [{ identity: 5 }, 'test: identity: expected an identity name or { file: "<path>" }'],
      [{ tcpListeners: [{ address: "127.0.0.1:99999" }] }, 'test: tcpListeners[0].address: "127.0.0.1:99999" has an invalid port 99999: expected a port from 0 to 65535'],
      [{ tcpListeners: [{ address: "127.0.0.1:0", maxConnectionsPerHost: 0 }] }, "test: tcpListeners[0].maxConnectionsPerHost: expected a positive whole number"],
      [{ tcpListeners: [{ address: "127.0.0.1:0", maxConnections: "lots" }] }, "test: tcpListeners[0].maxConnections: expected a positive whole number, got string"],
      [{ tcpListeners: [{ address: "127.0.0.1:0", maxConnections: 1e300 }] }, "test: tcpListeners[0].maxConnections: expected a positive whole number up to 2^53 - 1"],
      [{ tcpListeners: [{ address: "127.0.0.1:0", idleTimeout: -1 }] }, "test: tcpListeners[0].idleTimeout: expected milliseconds (a whole number, 0 for off)"],
      [{ busyPollMicros: 10_001 }, "test: busyPollMicros: expected at most 10000 microseconds"],
      [{ busyPollMicros: 1.5 }, "test: busyPollMicros: expected microseconds (a whole number from 0 to 10000, 0 for off), got float"],
      [{ busyPollMicros: "150" }, "test: busyPollMicros: expected microseconds (a whole number from 0 to 10000, 0 for off), got string"],
      [{ secureChannelListeners: [{ address: "api", trust: "nobody" }] }, 'test: secureChannelListeners[0].trust: expected "everyone" or a list of identifiers'],
      // One identifier without a list (as --trust takes it): shown as the list of one it should be, written alike in YAML and JSON.
      [{ secureChannelListeners: [{ address: "api", trust: bob }] }, `test: secureChannelListeners[0].trust: expected "everyone" or a list of identifiers, a list even for one: ["${bob}"]`],
      [{ inlets: [{ listen: "127.0.0.1:7000", via: "127.0.0.1:4000", trust: bob }] }, `test: inlets[0].trust: expected "everyone" or a list of identifiers, a list even for one: ["${bob}"]`],
      [{ relays: [{ name: "bob", at: "127.0.0.1:4000", trust: bob }] }, `test: relays[0].trust: expected "everyone" or a list of identifiers, a list even for one: ["${bob}"]`],
      [{ outlets: [{ to: "127.0.0.1:1" }] }, "test: secureChannelListeners: missing: an outlet is reachable only through a secure channel listener, expected at least one"],
      [[], "test: (top level): expected a map of keys, got array"],
      [
        { secureChannelListeners: [{ address: "api", trust: "everyone" }], tcpListeners: [{ address: "127.0.0.1:0" }], outlets: [{ to: "127.0.0.1:1", maxStreamsPerChannel: 2000 }] },
        "test: outlets[0].maxStreamsPerChannel: expected at most maxStreams (1024, its default), got 2000",
      ],
      // Past the portal's own bound: said here, naming the key, not when the node starts (it said "maxStreams must be …").
      [
        { secureChannelListeners: [{ address: "api", trust: "everyone" }], tcpListeners: [{ address: "127.0.0.1:0" }], outlets: [{ to: "127.0.0.1:1", maxStreams: 2_000_000 }] },
        "test: outlets[0].maxStreams: expected at most 1000000",
      ],
      [
        { secureChannelListeners: [{ address: "api", trust: "everyone" }], tcpListeners: [{ address: "127.0.0.1:0" }], outlets: [{ to: "127.0.0.1:1", maxStreams: 10, maxStreamsPerChannel: 11 }] },
        "test: outlets[0].maxStreamsPerChannel: expected at most maxStreams (10), got 11",
      ],
      // Addresses the node's workers would share: caught here, not when the second one fails to start (ADDRESS_IN_USE, exit 1).
      [
        { secureChannelListeners: [{ address: "api", trust: "everyone" }], tcpListeners: [{ address: "127.0.0.1:0" }], outlets: [{ to: "127.0.0.1:1" }, { to: "127.0.0.1:2" }] },
        'test: outlets[1].address: the address "outlet" is already taken by outlets[0].address: every worker of a node needs an address of its own',
      ],
      [
        { secureChannelListeners: [{ address: "api", trust: "everyone" }, { address: "api", trust: [bob] }] },
        'test: secureChannelListeners[1].address: the address "api" is already taken by secureChannelListeners[0].address: every worker of a node needs an address of its own',
      ],
      [
        { secureChannelListeners: [{ address: "api", trust: "everyone" }], tcpListeners: [{ address: "127.0.0.1:0" }], outlets: [{ address: "api", to: "127.0.0.1:1" }] },
        'test: outlets[0].address: the address "api" is already taken by secureChannelListeners[0].address: every worker of a node needs an address of its own',
      ],
      [
        { secureChannelListeners: [{ address: "app", trust: "everyone" }] },
        'test: secureChannelListeners[0].address: "app" is the node\'s own inbox: every worker of a node needs an address of its own',
      ],
      [
        { secureChannelListeners: [{ address: "api", trust: "everyone" }], tcpListeners: [{ address: "127.0.0.1:0" }], relayService: { allow: "everyone" }, outlets: [{ address: "forward_to_db", to: "127.0.0.1:1" }] },
        'test: outlets[0].address: "forward_to_db" is where the relay service starts the forwarder of a relay named "db": every worker of a node needs an address of its own',
      ],
    ];
    for (const [raw, message] of problems) {
      const error = thrownBy(raw);
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).code).toBe("CLI_CONFIG_INVALID");
      expect((error as ConfigError).message).toBe(message);
    }
  });
});
