import { describe, expect, it } from "vitest";
import { Address, askerWentAway, InvalidRouteError, LocalMessage, RouteUnavailableError, UnknownAddressError, route, type Routed } from "@hopwire/runtime";

// askerWentAway: what a handler's reply may fail with when its asker left, and nothing else.
const from = (...hops: (Address | string)[]): Routed => new LocalMessage(route("me"), route(...hops), new Uint8Array(0)) as unknown as Routed;

describe("askerWentAway", () => {
  it("is true for a closed first hop and for a runtime-generated reply address that is gone", () => {
    expect(askerWentAway(new RouteUnavailableError("the connection closed"), from("1#127.0.0.1:1", "asker"))).toBe(true);
    expect(askerWentAway(new UnknownAddressError("gone"), from(Address.random()))).toBe(true);
  });

  it("is false for a wrong route, an empty one, or any other error", () => {
    expect(askerWentAway(new UnknownAddressError("typo"), from("ecoer"))).toBe(false);
    expect(askerWentAway(new UnknownAddressError("none"), from())).toBe(false);
    expect(askerWentAway(new InvalidRouteError("empty"), from(Address.random()))).toBe(false);
    expect(askerWentAway(new Error("boom"), from(Address.random()))).toBe(false);
  });
});
