import { describe, expect, it } from "vitest";
import { relayServiceLog } from "../dist/node/relay-service-log.js";
import { eventually } from "../../../test/support/eventually.js";

const mallory = "I" + "cd".repeat(32);
const bob = "I" + "ab".repeat(32);

describe("a relay node's relay service lines", () => {
  it("a flood of refused registrations is one line and then a count per interval, not a line each", async () => {
    const lines: string[] = [];
    const events = relayServiceLog((line) => lines.push(line), 200);
    try {
      for (let i = 0; i < 10_000; i++) events.onEvent({ kind: "refused", name: `bob${i % 7}`, code: "RELAY_REGISTRATION_REFUSED", identifier: mallory });
      expect(lines).toEqual([`relay service: refused bob0 for ${mallory} (RELAY_REGISTRATION_REFUSED)`]);
      await eventually(() => lines.length === 2, 20_000);
      expect(lines[1]).toBe(`relay service: refused 9999 more registrations (RELAY_REGISTRATION_REFUSED) in 0.2 s, the last bob3 for ${mallory}`);
    } finally {
      events.stop();
    }
  });

  it("each name's registrations and removals are their own cause: a flood on one does not hide another", () => {
    const lines: string[] = [];
    const events = relayServiceLog((line) => lines.push(line), 60_000);
    try {
      for (let i = 0; i < 100; i++) events.onEvent({ kind: "registered", name: "churn", address: "0#forward_to_churn", identifier: mallory, replaced: true });
      events.onEvent({ kind: "registered", name: "bob", address: "0#forward_to_bob", identifier: bob, replaced: false });
      events.onEvent({ kind: "removed", name: "bob", address: "0#forward_to_bob", reason: "its secure channel closed" });
      expect(lines).toEqual([
        `relay service: churn registered by ${mallory} (replacing the previous registration)`,
        `relay service: bob registered by ${bob}`,
        "relay service: bob removed (its secure channel closed)",
      ]);
    } finally {
      events.stop();
    }
    // Stopping writes what was counted: nothing is lost; and says over how long, not the whole interval's 60 s.
    // The last of them took the name from a live registration: the summary says so (a takeover matters to an operator).
    expect(lines[3]).toMatch(new RegExp(`^relay service: churn registered 99 more times in \\d(\\.\\d)? s, last by ${mallory}, the last replacing the previous registration$`));
    expect(lines[3]).not.toContain("in 60 s");
  });
});
