// An outlet whose relay registration fails at start says what to change, in the command's
// terms: the relay node's --allow for a refused name, this node's --relay-trust for a relay
// node it does not trust (it said "may not register the relay" and "is not trusted by the
// trust policy", naming neither flag). A relay node as a process, the outlet in this process.
import { afterEach, describe, expect, it } from "vitest";
import { hopwire, hopwireHere, newHome, removeHomes, terminate, type HopwireChild } from "./processes.js";

afterEach(() => removeHomes());

async function portOf(child: HopwireChild, what: string): Promise<number> {
  return Number((await child.line(new RegExp(` ${what} 127\\.0\\.0\\.1:(\\d+)`)))[1]);
}

describe("an outlet's relay registration that fails at start", { timeout: 60_000 }, () => {
  it("names the relay node's --allow for a refused name, and --relay-trust for an untrusted relay node", async () => {
    const home = newHome();
    for (const name of ["bob", "relay"]) expect((await hopwireHere("--home", home, "identity", "create", name)).code).toBe(0);
    const bob = (await hopwireHere("--home", home, "identity", "show", "bob")).out[0]!;
    const relayIdentity = (await hopwireHere("--home", home, "identity", "show", "relay")).out[0]!;
    const relay = hopwire(["--home", home, "relay", "--listen", "127.0.0.1:0", "--allow", `carol=${bob}`, "--identity", "relay"]);
    try {
      const at = `127.0.0.1:${await portOf(relay, "tcp listener")}`;
      const refused = await hopwireHere("--home", home, "outlet", "--trust-anyone", "--to", "127.0.0.1:1", "--relay", `bob@${at}`, "--identity", "bob");
      expect(refused.code).toBe(1);
      expect(refused.err).toEqual([
        `hopwire: ${bob} may not register the relay "bob": the relay node lets it with --allow bob=${bob} (relayService.allow in its configuration) (RELAY_REGISTRATION_REFUSED)`,
      ]);
      const stranger = `I${"a".repeat(64)}`;
      const untrusted = await hopwireHere("--home", home, "outlet", "--trust-anyone", "--to", "127.0.0.1:1", "--relay", `carol@${at}`, "--identity", "bob", "--relay-trust", stranger);
      expect(untrusted.code).toBe(1);
      expect(untrusted.err).toEqual([
        `hopwire: The relay node at ${at} answered as ${relayIdentity}, an identity this node does not trust (--relay-trust, relays[].trust, which expects ${stranger}) (SECURE_CHANNEL_HANDSHAKE_FAILED)`,
      ]);
    } finally {
      await terminate(relay);
    }
  });
});
