import { describe, expect, it } from "vitest";
import { Address, InvalidOptionError, InvalidRouteError, Route, route } from "@hopwire/runtime";

const keys = (r: Route): string[] => r.addresses.map((a) => a.toString());

describe("route()", () => {
  it('parses "a => b" strings', () => {
    expect(keys(route("a => 1#h:1 =>  b"))).toEqual(["0#a", "1#h:1", "0#b"]);
    expect(route("").isEmpty).toBe(true);
    expect(route("  ").isEmpty).toBe(true);
  });

  it("rejects an empty hop, naming its position (it was dropped: \"h1 => => echoer\" became h1 => echoer)", () => {
    const cases: [string, RegExp][] = [
      ["h1 => => echoer", /^Invalid route "h1 => => echoer": hop 2 of 3 is empty \(nothing between two "=>"\)$/],
      ["h1 =>", /^Invalid route "h1 =>": hop 2 of 2 is empty \(nothing after the last "=>"\)$/],
      [" => a", /^Invalid route " => a": hop 1 of 2 is empty \(nothing before the first "=>"\)$/],
      ["=>", /hop 1 of 2 is empty/],
    ];
    for (const [text, message] of cases) {
      expect(() => route(text), text).toThrow(InvalidRouteError);
      expect(() => route(text), text).toThrow(message);
      expect(() => route("a").append(text), text).toThrow(InvalidRouteError);
    }
  });

  it("parses a one-hop text the same every time, whitespace and type prefix included, and never remembers a bad one", () => {
    // One-hop texts are parsed once and remembered (route(channel, "echoer") per message).
    for (let i = 0; i < 3; i++) {
      expect(keys(route(" echoer "))).toEqual(["0#echoer"]);
      expect(keys(route("1#127.0.0.1:4000", "echoer"))).toEqual(["1#127.0.0.1:4000", "0#echoer"]);
      expect(() => route("x#y")).toThrow(/Invalid address type/);
    }
    // Past the cache's bound (1,024 texts) it starts again, and parses as before.
    for (let i = 0; i < 3000; i++) expect(route(`w${i}`).at(0)!.value).toBe(`w${i}`);
    expect(keys(route("echoer"))).toEqual(["0#echoer"]);
  });

  it("flattens strings, addresses, routes, route-like objects and nested arrays", () => {
    const connection = { route: route("1#h:1") };
    const r = route("a", Address.parse("b"), route("c => d"), connection, ["e", ["f", route("g")]]);
    expect(keys(r)).toEqual(["0#a", "0#b", "0#c", "0#d", "1#h:1", "0#e", "0#f", "0#g"]);
  });

  it("rejects what cannot be a route", () => {
    expect(() => route(42 as unknown as string)).toThrow(InvalidRouteError);
    expect(() => route({ route: "not a route" } as unknown as Route)).toThrow(InvalidRouteError);
    expect(() => route("x#y")).toThrow();
  });

  it("says what a part that is no hop is, and asks about a missing await for a promise", () => {
    const pending = Promise.resolve({ route: route("1#h:1") });
    expect(() => route(pending as never, "echoer")).toThrow(/^Cannot build a route from a Promise \(is an `await` missing\?\); a hop is an address/);
    expect(() => route(undefined as never)).toThrow(/^Cannot build a route from undefined; a hop is/);
    expect(() => route({ port: 4000 } as never)).toThrow(/^Cannot build a route from an object with no \.route; a hop is/);
    expect(() => route(4000 as never)).toThrow(/^Cannot build a route from the number 4000; a hop is/);
  });

  it("is immutable: operations return new routes and leave the original alone", () => {
    const r = route("a => b => c");
    const popped = r.popFront();
    const prepended = r.prepend("z");
    const appended = r.append("d");
    const replaced = r.replaceFront("y => x");
    expect(keys(r)).toEqual(["0#a", "0#b", "0#c"]);
    expect(keys(popped)).toEqual(["0#b", "0#c"]);
    expect(keys(prepended)).toEqual(["0#z", "0#a", "0#b", "0#c"]);
    expect(keys(appended)).toEqual(["0#a", "0#b", "0#c", "0#d"]);
    expect(keys(replaced)).toEqual(["0#y", "0#x", "0#b", "0#c"]);
    expect(Object.isFrozen(r.addresses)).toBe(true);
    expect(() => (r.addresses as Address[]).push(Address.parse("q"))).toThrow(TypeError);
  });

  it("does not share the array it was built from", () => {
    const list = [Address.parse("a")];
    const r = new Route(list);
    list.push(Address.parse("b"));
    expect(r.length).toBe(1);
  });

  it("never hands out a mutable array, whichever way the route was built", () => {
    const base = route("a => b => c");
    const built = [
      base,
      base.popFront(),
      base.prepend("z", route("y")),
      base.append(Address.parse("d")),
      base.replaceFront("x"),
      route(Address.parse("a")),
      route(["a", "b"]),
      new Route([Address.parse("a")]),
    ];
    for (const r of built) {
      expect(Object.isFrozen(r.addresses), r.toString()).toBe(true);
      expect(() => (r.addresses as Address[]).push(Address.parse("q"))).toThrow(TypeError);
    }
    // Operations on a route leave the routes they were built from as they were.
    const a = route("a => b");
    const b = a.prepend("z");
    a.popFront();
    expect(keys(a)).toEqual(["0#a", "0#b"]);
    expect(keys(b)).toEqual(["0#z", "0#a", "0#b"]);
  });

  it("returns a single route (or a route-like object's route) as it is: routes are immutable", () => {
    const r = route("a => b");
    expect(route(r)).toBe(r);
    expect(route({ route: r })).toBe(r);
    expect(route(r, "c").toString()).toBe("0#a => 0#b => 0#c");
  });

  it("replaceFront and prepend/append accept every route-like part", () => {
    const r = route("a => b => c");
    expect(keys(r.replaceFront(Address.parse("1#h:1")))).toEqual(["1#h:1", "0#b", "0#c"]);
    expect(keys(r.replaceFront())).toEqual(["0#b", "0#c"]);
    expect(keys(r.prepend({ route: route("p") }, ["q"]))).toEqual(["0#p", "0#q", "0#a", "0#b", "0#c"]);
    expect(() => Route.EMPTY.replaceFront("x")).toThrow(InvalidRouteError);
    expect(() => r.prepend(42 as unknown as string)).toThrow(InvalidRouteError);
  });

  it("gives addresses by index (negative from the end)", () => {
    const r = route("a => b => c");
    expect(r.at(0)?.value).toBe("a");
    expect(r.at(2)?.value).toBe("c");
    expect(r.at(-1)?.value).toBe("c");
    expect(r.at(3)).toBeUndefined();
    expect(Route.EMPTY.at(0)).toBeUndefined();
  });

  it("prints readably in logs", async () => {
    const { inspect } = await import("node:util");
    expect(inspect(route("a => 1#h:1"))).toBe("Route(0#a => 1#h:1)");
  });

  it("gives a text the same route each time, and a route or a channel followed by a text the same while a loop repeats it; other parts make a new one", () => {
    expect(route("sink")).toBe(route("sink"));
    expect(route("a => 1#h:1")).toBe(route("a => 1#h:1"));
    expect(route("sink").toString()).toBe("0#sink");
    expect(route("sink", "b")).not.toBe(route("sink", "b"));
    expect(route("sink", "b").equals(route("sink => b"))).toBe(true);
    // A route, or what has a .route (a channel, a connection), and a text: the last one made is kept on that route.
    const connection = { route: route("1#127.0.0.1:4000") };
    const echoer = route(connection, "echoer");
    expect(route(connection, "echoer")).toBe(echoer);
    expect(route(connection.route, "echoer")).toBe(echoer);
    expect(echoer.toString()).toBe("1#127.0.0.1:4000 => 0#echoer");
    expect(route(connection, "a => b").toString()).toBe("1#127.0.0.1:4000 => 0#a => 0#b");
    expect(route(connection, "echoer")).not.toBe(echoer); // another text came in between: made again, equal
    expect(route(connection, "echoer").equals(echoer)).toBe(true);
    // A route built up hop by hop keeps none of its steps (each would keep the next).
    const step = route(connection, "a");
    expect(route(step, "b")).not.toBe(route(step, "b"));
    expect(route(step, "b").toString()).toBe("1#127.0.0.1:4000 => 0#a => 0#b");
    // An address is no route to keep it on; a long text is parsed each time, not kept.
    const address = Address.parse("1#127.0.0.1:5000");
    expect(route(address, "echoer").equals(route([address, "echoer"]))).toBe(true);
    const long = " ".repeat(300) + "sink";
    expect(route(long)).not.toBe(route(long));
    expect(route(long).equals(route("sink"))).toBe(true);
    // A text that is no route is refused every time, not remembered.
    expect(() => route("a => ")).toThrow(InvalidRouteError);
    expect(() => route("a => ")).toThrow(InvalidRouteError);
    expect(() => route(connection, "a => ")).toThrow(InvalidRouteError);
  });

  it("gives the next hop and the recipient; an empty route has no next hop", () => {
    const r = route("a => b");
    expect(r.next().value).toBe("a");
    expect(r.recipient()?.value).toBe("b");
    expect(() => Route.EMPTY.next()).toThrow(InvalidRouteError);
    expect(() => Route.EMPTY.popFront()).toThrow(InvalidRouteError);
    expect(Route.EMPTY.recipient()).toBeUndefined();
  });

  it("compares and prints", () => {
    expect(route("a => b").equals(route("a", "b"))).toBe(true);
    expect(route("a => b").equals(route("a"))).toBe(false);
    expect(route("a => b").equals(route("a => c"))).toBe(false);
    // From an index on: as long, and the same from there (a transport leaves out its own hop).
    expect(route("x", "b").equals(route("y", "b"), 1)).toBe(true);
    expect(route("x", "b").equals(route("y", "c"), 1)).toBe(false);
    expect(route("x", "b").equals(route("y", "b", "c"), 1)).toBe(false);
    expect(route("x", "b").equals(route("y", "b"))).toBe(false);
    expect(() => route("x", "b").equals(route("y", "c"), 0.5)).toThrow(InvalidOptionError);
    expect(() => route("x", "b").equals(route("y", "c"), -1)).toThrow(InvalidOptionError);
    expect(route("a => 1#h:1").toString()).toBe("0#a => 1#h:1");
    expect(JSON.stringify(route("a"))).toBe('"0#a"');
  });
});
