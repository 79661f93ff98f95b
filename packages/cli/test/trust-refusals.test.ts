// A secure channel refused because the listener does not trust the initiator's identity: both
// sides say what to change in the command's terms (--trust), not in the library's
// (trustPolicy, trustIdentifiers([...])), which a CLI user cannot call.
import { afterEach, describe, expect, it, vi } from "vitest";
import { hopwire, hopwireHere, newHome, removeHomes, terminate } from "./processes.js";

afterEach(() => removeHomes());

async function identity(home: string, name: string): Promise<string> {
  const { code, out } = await hopwireHere("--home", home, "identity", "create", name);
  expect(code).toBe(0);
  return out[0]!;
}

describe("an outlet's node the inlet does not trust", { timeout: 60_000 }, () => {
  // The slip behind it is often a relay node given without the relay's name (--via host:port,
  // not --via bob@host:port): the relay node's own listener answers with the relay node's identity.
  it("the inlet exits 1 naming the identity that answered and --via <name>@ for a relay node", async () => {
    const home = newHome();
    const bob = await identity(home, "bob");
    await identity(home, "alice");
    const carol = await identity(home, "carol");
    const outlet = hopwire(["--home", home, "outlet", "--trust-anyone", "--to", "127.0.0.1:9", "--listen", "127.0.0.1:0", "--identity", "bob"]);
    try {
      const port = Number((await outlet.line(/ tcp listener 127\.0\.0\.1:(\d+)/))[1]);
      await outlet.line(/ ready$/);
      const { code, err } = await hopwireHere("--home", home, "inlet", "--from", "127.0.0.1:0", "--via", `127.0.0.1:${port}`, "--identity", "alice", "--trust", carol);
      expect(code).toBe(1);
      expect(err).toEqual([
        `hopwire: The node at 127.0.0.1:${port} answered as ${bob}, an identity this inlet does not trust (--trust, inlets[].trust). ` +
          "If that node is a relay node, name the relay the outlet registered: --via <name>@host:port (inlets[].relay). (SECURE_CHANNEL_HANDSHAKE_FAILED)",
      ]);
    } finally {
      await terminate(outlet);
    }
  });
});

describe("an outlet's node behind a relay that the inlet does not trust", { timeout: 60_000 }, () => {
  // It said "The node at <the relay node's address> answered as …": the node that answered is the outlet's.
  it("the inlet names the outlet's node behind the relay as the one that answered", async () => {
    const home = newHome();
    const bob = await identity(home, "bob");
    await identity(home, "alice");
    const carol = await identity(home, "carol");
    const relay = hopwire(["--home", home, "relay", "--listen", "127.0.0.1:0", "--allow", `bob=${bob}`]);
    let outlet: ReturnType<typeof hopwire> | undefined;
    try {
      const at = `127.0.0.1:${(await relay.line(/ tcp listener 127\.0\.0\.1:(\d+)/))[1]}`;
      outlet = hopwire(["--home", home, "outlet", "--trust-anyone", "--to", "127.0.0.1:9", "--relay", `bob@${at}`, "--identity", "bob"]);
      await outlet.line(/ relay bob registered at /);
      const { code, err } = await hopwireHere("--home", home, "inlet", "--from", "127.0.0.1:0", "--via", `bob@${at}`, "--identity", "alice", "--trust", carol);
      expect(code).toBe(1);
      expect(err).toEqual([
        `hopwire: The outlet's node, reached through "bob" at the relay node ${at}, answered as ${bob}, an identity this inlet does not trust (--trust, inlets[].trust). (SECURE_CHANNEL_HANDSHAKE_FAILED)`,
      ]);
    } finally {
      if (outlet) await terminate(outlet);
      await terminate(relay);
    }
  });
});

describe("an identity the outlet does not trust", { timeout: 60_000 }, () => {
  it("the inlet exits 1 naming its identifier and the outlet's --trust; the outlet's warning says --trust too", async () => {
    const home = newHome();
    await identity(home, "bob");
    const alice = await identity(home, "alice");
    const carol = await identity(home, "carol");
    // Warnings on for the outlet node: the suite turns them off for every process.
    const outlet = hopwire(["--home", home, "outlet", "--to", "127.0.0.1:9", "--listen", "127.0.0.1:0", "--identity", "bob", "--trust", carol], { HOPWIRE_WARNINGS: "on" });
    try {
      const port = Number((await outlet.line(/ tcp listener 127\.0\.0\.1:(\d+)/))[1]);
      await outlet.line(/ ready$/);
      const { code, err } = await hopwireHere("--home", home, "inlet", "--trust-anyone", "--from", "127.0.0.1:0", "--via", `127.0.0.1:${port}`, "--identity", "alice");
      expect(code).toBe(1);
      expect(err).toEqual([
        `hopwire: The outlet's node refused the secure channel: it does not trust this node's identity ${alice} (HANDSHAKE_UNTRUSTED_IDENTITY). ` +
          `If it should, add --trust ${alice} to the outlet's command (secureChannelListeners[].trust in its configuration file) (SECURE_CHANNEL_REFUSED)`,
      ]);
      await vi.waitFor(() => expect(outlet.stderr()).toMatch(/refused a secure channel/), { timeout: 30_000, interval: 50 });
      // Its one line about the refusal (whatever else a loaded machine may make it say).
      const stamped = outlet.stderr().split("\n").filter((line) => line.includes("refused a secure channel"));
      // Each warning of a running node starts with its time, as its log lines do.
      for (const line of stamped) expect(line).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z hopwire: /);
      const refusals = stamped.map((line) => line.slice(line.indexOf(" ") + 1));
      expect(refusals).toEqual([
        `hopwire: warning: "api" refused a secure channel from ${alice}: its identity is not trusted here. If it should be, add --trust ${alice} to this node's command ` +
          `(secureChannelListeners[].trust in a configuration file); the other side gets SecureChannelRefusedError (reason HANDSHAKE_UNTRUSTED_IDENTITY).`,
      ]);
      expect(outlet.stderr()).not.toMatch(/trustPolicy|trustIdentifiers/);
    } finally {
      await terminate(outlet);
    }
  });
});
