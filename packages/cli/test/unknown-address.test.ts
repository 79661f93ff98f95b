// What a configured node says about a message for an address it does not have
// (src/node/unknown-address.ts), for the cases a user trial found confusing: a relay address
// that is a service sending back what it gets made an outlet's node warn that nothing was
// called "api" while listing its listener "api", and an inlet's node warn about its own
// "forward_to_bob" as if a peer had named the wrong outlet.
import { describe, expect, it } from "vitest";
import { parseConfig } from "../dist/index.js";
import { whatIsNamed } from "../dist/node/unknown-address.js";

const outletBehindRelay = parseConfig(
  {
    relays: [{ name: "bob", at: "127.0.0.1:4000" }],
    secureChannelListeners: [{ address: "api", trust: "everyone" }],
    outlets: [{ to: "127.0.0.1:5432" }],
  },
  "test",
);

describe("a message for an address the node does not have", () => {
  it("names a configured address that was not running yet, and asks whether the relay's address sends things back", () => {
    const text = whatIsNamed("api", outletBehindRelay);
    expect(text).toMatch(/^"api" is this node's secure channel listener, which was not running when the message came: it starts once the node's relay registrations are done/);
    expect(text).toMatch(/come back\. Is the node at the relay's address \(--relay, relays\[\]\.at\) a Hopwire relay node, or a service that sends back what it gets\?$/);
    expect(whatIsNamed("outlet", outletBehindRelay)).toMatch(/^"outlet" is this node's outlet, which was not running/);
  });

  it("without relays, says only that it was not running", () => {
    const plain = parseConfig({ tcpListeners: [{ address: "127.0.0.1:0" }], secureChannelListeners: [{ address: "api", trust: "everyone" }] }, "test");
    expect(whatIsNamed("api", plain)).toBe(`"api" is this node's secure channel listener, which was not running when the message came: it had not started, or had stopped.`);
  });

  it("on an inlet's node with no relay service, calls forward_to_<name> its own inlet's message come back", () => {
    const inlet = parseConfig({ inlets: [{ listen: "127.0.0.1:7000", via: "127.0.0.1:4000", relay: "bob", trust: "everyone" }] }, "test");
    expect(whatIsNamed("forward_to_bob", inlet)).toMatch(/^this node runs no relay service: a message for "forward_to_bob" here is one of its own inlets' \(--via bob@…, inlets\[\]\.relay\) come back\. Is the node/);
  });

  it("keeps the list of names for an address the configuration does not have", () => {
    expect(whatIsNamed("nope", outletBehindRelay)).toBe(
      'nothing on this node is called "nope" (outlets: outlet; secure channel listeners: api): the sender names the wrong outlet (--outlet, inlets[].outlet) or listener (inlets[].listener)',
    );
  });
});
