import { describe, expect, it } from "vitest";
import { FlowControlDeniedError, FlowControls, InvalidOptionError, LocalMessage, Router, UnknownAddressError, encodeBody, route, type Mailbox } from "@hopwire/runtime";
import { Address } from "@hopwire/runtime";
import { MAX_GONE_PRODUCERS } from "../dist/flow-control/flow-controls.js";

function mailbox(address: string): Mailbox & { got: LocalMessage[] } {
  const got: LocalMessage[] = [];
  return { address: Address.parse(address), got, deliver: (m) => void got.push(m) };
}

describe("FlowControls", () => {
  it("generates distinct ids", () => {
    const fc = new FlowControls();
    expect(fc.generateId()).not.toBe(fc.generateId());
    expect(FlowControls.generateId()).toMatch(/^fc[0-9a-f]{32}$/);
  });

  it("lets a producer's messages reach only its consumers", () => {
    const fc = new FlowControls();
    const id = fc.generateId();
    fc.addProducer("receiver", id);
    fc.addConsumer("echoer", id);
    expect(fc.isAllowed("receiver", "echoer")).toBe(true);
    expect(fc.isAllowed("receiver", "other")).toBe(false);
    // Senders that are not producers are not restricted.
    expect(fc.isAllowed("other", "echoer")).toBe(true);
    expect(fc.isAllowed(undefined, "anything")).toBe(true);
    fc.removeConsumer("echoer", id);
    expect(fc.isAllowed("receiver", "echoer")).toBe(false);
  });

  it("refuses an id that is not one (a typo's undefined, an object) with InvalidOptionError, and stays whole", () => {
    const fc = new FlowControls();
    const id = fc.generateId();
    fc.addProducer("receiver", id);
    const listener = { flowControlId: id };
    for (const bad of [undefined, listener, 42, ""]) {
      expect(() => fc.addConsumer("echoer", bad as unknown as string)).toThrow(InvalidOptionError);
      expect(() => fc.addConsumer("echoer", bad as unknown as string)).toThrow(/flowControls\.addConsumer: flowControlId must be a flow control id \(e\.g\. listener\.flowControlId\)/);
      expect(() => fc.removeConsumer("echoer", bad as unknown as string)).toThrow(InvalidOptionError);
      expect(() => fc.addProducer("other", bad as unknown as string)).toThrow(InvalidOptionError);
      expect(() => fc.addSpawner("listener", bad as unknown as string)).toThrow(InvalidOptionError);
    }
    // A listener's or connection's address for its flowControlId: an easy slip, accepted silently before (nothing was ever allowed).
    for (const address of ["127.0.0.1:4000", "1#127.0.0.1:4000", "[::1]:4000"]) {
      expect(() => fc.addConsumer("echoer", address)).toThrow(
        `flowControls.addConsumer: flowControlId must be a flow control id (e.g. listener.flowControlId), got ${JSON.stringify(address)}, which is an address: pass the listener's or connection's flowControlId`,
      );
    }
    // A listener's or producer's local address (the secure channel listener "bob_listener"): taken silently before.
    fc.addSpawner("bob_listener", fc.generateId());
    for (const address of ["bob_listener", "receiver"]) {
      expect(() => fc.addConsumer("echoer", address)).toThrow(
        `flowControls.addConsumer: "${address}" is the address of a listener or producer, not a flow control id: pass its flowControlId (e.g. listener.flowControlId)`,
      );
    }
    expect(fc.isConsumer("echoer", "bob_listener")).toBe(false);
    // Before, an object got into the maps and every later call on that address threw a TypeError.
    fc.addConsumer("echoer", id);
    expect(fc.isAllowed("receiver", "echoer")).toBe(true);
    fc.cleanup("echoer");
    expect(fc.isAllowed("receiver", "echoer")).toBe(false);
  });

  it("lets consumers of a spawner receive from every producer it spawned", () => {
    const fc = new FlowControls();
    const listener = fc.generateId();
    fc.addSpawner("listener", listener);
    const connection = fc.generateId();
    fc.addProducer("conn-1", connection, listener, ["conn-1-sender"]);
    fc.addConsumer("echoer", listener);
    expect(fc.isAllowed("conn-1", "echoer")).toBe(true);
    expect(fc.isAllowed("conn-1", "stranger")).toBe(false);
    expect(fc.findFlowControlWithSpawnerAddress("listener")).toBe(listener);
    expect(fc.findFlowControlWithProducerAddress("conn-1")).toEqual({ flowControlId: connection, spawnerFlowControlId: listener });
    expect(fc.findFlowControlWithProducerAddress("conn-1-sender")?.flowControlId).toBe(connection);
    // An alias resolves to the flow but is not itself restricted.
    expect(fc.isProducerKey("conn-1-sender")).toBe(false);
    expect(fc.isAllowed("conn-1-sender", "stranger")).toBe(true);
  });

  it("forgets an address that went away", () => {
    const fc = new FlowControls();
    const id = fc.generateId();
    fc.addProducer("p", id);
    fc.addConsumer("c", id);
    fc.cleanup("c");
    expect(fc.isConsumer("c", id)).toBe(false);
    fc.cleanup("p");
    expect(fc.findFlowControlWithProducerAddress("p")).toBeUndefined();
    expect(fc.isAllowed("p", "anything")).toBe(true);
  });

  it("still knows a producer's addresses as the network's after they went away: the last MAX_GONE_PRODUCERS of them", () => {
    const fc = new FlowControls();
    const id = fc.generateId();
    fc.addProducer("receiver", id, undefined, ["sender"]);
    fc.addConsumer("c", id);
    expect(fc.isNetworkKey("receiver") && fc.isNetworkKey("sender")).toBe(true);
    expect(fc.isNetworkKey("c")).toBe(false);
    fc.cleanup("receiver");
    fc.cleanup("sender");
    fc.cleanup("c");
    expect(fc.findFlowControlWithProducerAddress("sender")).toBeUndefined();
    expect(fc.isNetworkKey("receiver") && fc.isNetworkKey("sender")).toBe(true);
    expect(fc.isNetworkKey("c")).toBe(false);
    for (let i = 0; i < MAX_GONE_PRODUCERS - 1; i++) {
      fc.addProducer(`p${i}`, id);
      fc.cleanup(`p${i}`);
    }
    expect(fc.isNetworkKey("receiver")).toBe(false);
    expect(fc.isNetworkKey("sender")).toBe(true);
  });

  // A few flows an address consumes are listed in an array, more go in a Set: both ways.
  it.each([4, 8, 12])("forgets a consumer in every flow it consumes, and only there (%i flows)", (flows) => {
    const fc = new FlowControls();
    const ids = Array.from({ length: flows }, () => fc.generateId());
    for (const id of ids) {
      fc.addProducer(`p-${id}`, id);
      fc.addConsumer("c", id);
      fc.addConsumer("other", id);
    }
    fc.ensureConsumerKey("c", ids[0]!); // already one: nothing changes
    fc.removeConsumer("c", ids[1]!);
    fc.cleanup("c");
    for (const id of ids) {
      expect(fc.isConsumer("c", id)).toBe(false);
      expect(fc.isConsumer("other", id)).toBe(true);
      expect(fc.isAllowed(`p-${id}`, "c")).toBe(false);
    }
    // A consumer added again after a cleanup is a consumer again, and cleaned up again.
    fc.addConsumer("c", ids[2]!);
    expect(fc.isAllowed(`p-${ids[2]}`, "c")).toBe(true);
    fc.cleanup("c");
    expect(fc.isConsumer("c", ids[2]!)).toBe(false);
    // A removed flow is forgotten by its consumers too: re-adding it later starts afresh.
    fc.removeFlow(ids[3]!);
    expect(fc.isConsumer("other", ids[3]!)).toBe(false);
    fc.addConsumer("other", ids[3]!);
    fc.cleanup("other");
    for (const id of ids) expect(fc.isConsumer("other", id)).toBe(false);
  });

  it("forgets the ephemeral address of every sendAndReceive through a producer", () => {
    const fc = new FlowControls();
    const router = new Router(fc);
    const id = fc.generateId();
    const producer = mailbox("producer");
    router.register([producer.address], producer);
    fc.addProducer("producer", id);
    for (let i = 0; i < 100; i++) {
      const ephemeral = Address.random();
      router.register([ephemeral], mailbox(ephemeral.value));
      router.route(new LocalMessage(route("producer"), route(ephemeral), encodeBody(i)), ephemeral.key);
      expect(fc.isConsumer(ephemeral, id)).toBe(true);
      router.unregister([ephemeral]);
      expect(fc.isConsumer(ephemeral, id)).toBe(false);
    }
  });

  it("is enforced by the router, before it says whether an address exists", () => {
    const fc = new FlowControls();
    const router = new Router(fc);
    const id = fc.generateId();
    fc.addProducer("producer", id);
    const consumer = mailbox("consumer");
    const outsider = mailbox("outsider");
    router.register([consumer.address], consumer);
    router.register([outsider.address], outsider);
    fc.addConsumer("consumer", id);
    const from = (to: string) => new LocalMessage(route(to), route("producer"), encodeBody("x"));
    router.route(from("consumer"), "producer");
    expect(consumer.got).toHaveLength(1);
    expect(() => router.route(from("outsider"), "producer")).toThrow(FlowControlDeniedError);
    expect(() => router.route(from("missing"), "producer")).toThrow(FlowControlDeniedError);
    expect(outsider.got).toHaveLength(0);
    expect(() => router.route(from("missing"), "outsider")).toThrow(UnknownAddressError);
  });

  it("makes a non-producer that sends into a producer a consumer of its flow", () => {
    const fc = new FlowControls();
    const router = new Router(fc);
    const id = fc.generateId();
    const producer = mailbox("producer");
    router.register([producer.address], producer);
    fc.addProducer("producer", id);
    router.route(new LocalMessage(route("producer"), route("app"), encodeBody("hi")), "app");
    expect(fc.isConsumer("app", id)).toBe(true);
    expect(fc.isAllowed("producer", "app")).toBe(true);
  });
});
