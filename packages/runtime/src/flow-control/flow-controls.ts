import { toAddress, type AddressLike } from "../address/address.js";
import { InvalidOptionError } from "../errors/errors.js";
import { checkFlowControlId } from "../options/plain-options.js";
import { randomHex32 } from "../util/random-hex.js";

/** Flows an address consumes that are kept in an array (looked through) before a Set takes them. */
const MAX_LISTED_FLOWS = 8;

/**
 * Producer addresses (and aliases) that went away, remembered (see `isNetworkKey`): a key and
 * a Set entry each (≈ 110 bytes: ≈ 0.9 MB at most), the last this many; two per closed connection or channel.
 */
export const MAX_GONE_PRODUCERS = 8192;

/** Identifies one flow: the messages produced by one producer (or by every producer of a spawner). */
export type FlowControlId = string;

/** A producer's flow control id, and its spawner's when it was spawned. */
export interface ProducerInfo {
  flowControlId: FlowControlId;
  /** Set when the producer was spawned (an accepted connection, a responder channel). */
  spawnerFlowControlId?: FlowControlId;
}

/**
 * Network reachability is opt-in. A producer is a worker that delivers messages coming from
 * outside (a TCP connection's receiver, a channel's decryptor); a spawner creates producers
 * (a TCP listener, a channel listener). A message sent by a producer reaches only the
 * consumers of its flow control id or of its spawner's. Messages from other workers are
 * not restricted.
 */
export class FlowControls {
  readonly #producers = new Map<string, ProducerInfo>();
  /** Extra addresses that identify a producer's flow (e.g. a connection's sender address). */
  readonly #producerAliases = new Map<string, ProducerInfo>();
  readonly #spawners = new Map<string, FlowControlId>();
  readonly #consumers = new Map<FlowControlId, Set<string>>();
  /**
   * The reverse of #consumers: address key → the flows it consumes, so that forgetting an
   * address (every sendAndReceive unregisters its ephemeral address) costs what the
   * address holds, not a scan of every flow. Most addresses consume one flow (a string);
   * a few flows go in an array (a Set's table costs ≈ 0.25 KiB, and every responder channel
   * end's remote address consumes two flows), more in a Set.
   */
  readonly #consumes = new Map<string, FlowControlId | FlowControlId[] | Set<FlowControlId>>();
  /** Keys of producers and aliases that went away, oldest first (at most MAX_GONE_PRODUCERS; see isNetworkKey). */
  readonly #goneProducers = new Set<string>();
  #version = 0;

  /**
   * Changes whenever something these flow controls allowed may no longer be allowed (a
   * consumer removed, a producer added or removed; a spawner added or removed too, to be
   * safe). A grant (a consumer added) leaves it as it is: nothing keeps a denial. With
   * `Router.epoch`, it lets a hot path keep a verdict.
   */
  get version(): number {
    return this.#version;
  }

  /**
   * @internal How many flows have a consumer set: what owners that went away leave behind
   * shows here (tests check that a closed channel or connection removed its flow).
   */
  get flowCount(): number {
    return this.#consumers.size;
  }

  /** A fresh, unguessable flow control id. */
  static generateId(): FlowControlId {
    return randomHex32("fc"); // one flat string: "fc" + randomHex32() was a concatenation, kept beside its flattened copy once hashed
  }

  /** A fresh, unguessable flow control id. */
  generateId(): FlowControlId {
    return FlowControls.generateId();
  }

  /**
   * Registers `address` as a producer of `flowControlId`. `aliases` are further addresses of
   * the same component (not restricted themselves) that lookups should resolve to this flow.
   */
  addProducer(
    address: AddressLike,
    flowControlId: FlowControlId,
    spawnerFlowControlId?: FlowControlId,
    aliases: AddressLike[] = [],
  ): void {
    checkFlowControlId(flowControlId, "flowControlId", "flowControls.addProducer");
    if (spawnerFlowControlId !== undefined) checkFlowControlId(spawnerFlowControlId, "spawnerFlowControlId", "flowControls.addProducer");
    const info: ProducerInfo = spawnerFlowControlId ? { flowControlId, spawnerFlowControlId } : { flowControlId };
    this.#version++;
    this.#producers.set(toAddress(address).key, info);
    for (const alias of aliases) this.#producerAliases.set(toAddress(alias).key, info);
  }

  /** Records that `address` (a listener) spawns producers under `flowControlId`. */
  addSpawner(address: AddressLike, flowControlId: FlowControlId): void {
    checkFlowControlId(flowControlId, "flowControlId", "flowControls.addSpawner");
    this.#spawners.set(toAddress(address).key, flowControlId);
    this.#version++;
  }

  /** Lets messages of `flowControlId` (from a producer, or from any producer of a spawner) reach `address`. */
  addConsumer(address: AddressLike, flowControlId: FlowControlId): void {
    // A typo (listener.flowcontrolId: undefined) or an object must not get into the maps: it broke every later call.
    checkFlowControlId(flowControlId, "flowControlId", "flowControls.addConsumer");
    this.#refuseWorkerAddress(flowControlId);
    this.ensureConsumerKey(toAddress(address).key, flowControlId);
  }

  /**
   * A producer's or spawner's local address where its flow control id belongs
   * (`addConsumer("echoer", "bob_listener")`) was taken silently, and nothing was ever allowed.
   * No generated id ("fc" and hex) is such an address, so only that slip is refused.
   */
  #refuseWorkerAddress(flowControlId: FlowControlId): void {
    if (!this.#producers.has(flowControlId) && !this.#spawners.has(flowControlId)) return;
    throw new InvalidOptionError(
      `flowControls.addConsumer: ${JSON.stringify(flowControlId)} is the address of a listener or producer, not a flow control id: pass its flowControlId (e.g. listener.flowControlId)`,
      { option: "flowControlId" },
    );
  }

  /** Withdraws what addConsumer allowed. */
  removeConsumer(address: AddressLike, flowControlId: FlowControlId): void {
    checkFlowControlId(flowControlId, "flowControlId", "flowControls.removeConsumer");
    const key = toAddress(address).key;
    if (this.#consumers.get(flowControlId)?.delete(key)) this.#version++;
    this.#forgetConsumes(key, flowControlId);
  }

  /** Drops `flowControlId` from what `key` consumes. */
  #forgetConsumes(key: string, flowControlId: FlowControlId): void {
    const flows = this.#consumes.get(key);
    if (flows === flowControlId) this.#consumes.delete(key);
    else if (Array.isArray(flows)) {
      const at = flows.indexOf(flowControlId);
      if (at >= 0) flows.splice(at, 1);
      if (flows.length === 0) this.#consumes.delete(key);
    } else if (typeof flows === "object" && flows.delete(flowControlId) && flows.size === 0) this.#consumes.delete(key);
  }

  /** True when messages that arrived under `flowControlId` may reach `address`. */
  isConsumer(address: AddressLike, flowControlId: FlowControlId): boolean {
    return this.#consumers.get(flowControlId)?.has(toAddress(address).key) ?? false;
  }

  /** The producer flow that `address` (the producer itself, or one of its aliases) belongs to. */
  findFlowControlWithProducerAddress(address: AddressLike): ProducerInfo | undefined {
    const key = toAddress(address).key;
    return this.#producers.get(key) ?? this.#producerAliases.get(key);
  }

  /** The flow control id that `address` spawns producers under, if it is a spawner. */
  findFlowControlWithSpawnerAddress(address: AddressLike): FlowControlId | undefined {
    return this.#spawners.get(toAddress(address).key);
  }

  /** The key of the address that spawns producers under `flowControlId` (a listener), if any. A scan: failure paths only. */
  spawnerKeyOf(flowControlId: FlowControlId): string | undefined {
    for (const [key, id] of this.#spawners) if (id === flowControlId) return key;
    return undefined;
  }

  /** Whether `key` is the primary address of a producer (not just an alias). Keys are Address.key. */
  isProducerKey(key: string): boolean {
    return this.#producers.has(key);
  }

  /**
   * Whether `key` is, or was until lately, the address of a producer or of one of its aliases
   * (a connection's receiver or sender, a secure channel's addresses): a hop that messages from
   * the network came through. A message keeps such a hop on its return route while it waits in
   * a worker's queue, on another thread or in the pool, and the connection may close meanwhile:
   * the hop is still the network's then. The last MAX_GONE_PRODUCERS such keys that went away
   * are remembered. Failure and dial paths only.
   */
  isNetworkKey(key: string): boolean {
    return this.#producers.has(key) || this.#producerAliases.has(key) || this.#goneProducers.has(key);
  }

  /** The flows `key` consumes (the flows whose messages may reach it), in no order. */
  consumedFlowsOf(key: string): FlowControlId[] {
    const flows = this.#consumes.get(key);
    if (flows === undefined) return [];
    return typeof flows === "string" ? [flows] : [...flows];
  }

  /** Producer lookup by address key (producer or alias), for the router's hot path. */
  producerByKey(key: string): ProducerInfo | undefined {
    return this.#producers.get(key) ?? this.#producerAliases.get(key);
  }

  /**
   * Adds a consumer by address key if it is not one yet. Only grants: the version stays (a
   * sendAndReceive through a connection makes its reply address a consumer, per call).
   */
  ensureConsumerKey(key: string, flowControlId: FlowControlId): void {
    let consumers = this.#consumers.get(flowControlId);
    if (!consumers) this.#consumers.set(flowControlId, (consumers = new Set()));
    else if (consumers.has(key)) return;
    consumers.add(key);
    // Most addresses consume one flow (every sendAndReceive's reply address does): a string, not an array.
    // #consumes mirrors #consumers, so this flow is not among `key`'s yet.
    const flows = this.#consumes.get(key);
    if (flows === undefined) this.#consumes.set(key, flowControlId);
    else if (typeof flows === "string") this.#consumes.set(key, [flows, flowControlId]);
    else if (!Array.isArray(flows)) flows.add(flowControlId);
    else if (flows.length < MAX_LISTED_FLOWS) flows.push(flowControlId);
    else this.#consumes.set(key, new Set([...flows, flowControlId]));
  }

  /** Whether a message sent by `sender` may be delivered to `destination` (both address keys). */
  isAllowed(senderKey: string | undefined, destinationKey: string): boolean {
    if (senderKey === undefined) return true;
    const producer = this.#producers.get(senderKey);
    if (!producer) return true;
    if (this.#consumers.get(producer.flowControlId)?.has(destinationKey)) return true;
    const spawner = producer.spawnerFlowControlId;
    return spawner !== undefined && (this.#consumers.get(spawner)?.has(destinationKey) ?? false);
  }

  /** Forgets everything registered for an address that went away. */
  cleanup(address: AddressLike): void {
    this.cleanupKey(toAddress(address).key);
  }

  /**
   * `cleanup` by address key (the router's hot path: every reply address goes through it).
   * `unkept`: no verdict about `key` can be kept anywhere (a short-lived reply address, which
   * no RouteMemo remembers, and which sends nothing through one), so withdrawing what it
   * consumed leaves the version as it is; removing a producer, alias or spawner still changes it.
   */
  cleanupKey(key: string, unkept = false): void {
    const producer = this.#producers.delete(key);
    const alias = this.#producerAliases.delete(key);
    const spawner = this.#spawners.delete(key);
    if (producer || alias || spawner) this.#version++;
    if (producer || alias) this.#rememberGone(key);
    const flows = this.#consumes.get(key);
    if (flows === undefined) return;
    if (!unkept) this.#version++;
    this.#consumes.delete(key);
    if (typeof flows === "string") this.#consumers.get(flows)?.delete(key);
    else for (const id of flows) this.#consumers.get(id)?.delete(key);
  }

  #rememberGone(key: string): void {
    const gone = this.#goneProducers;
    gone.delete(key); // re-inserted last: the oldest go first
    gone.add(key);
    if (gone.size > MAX_GONE_PRODUCERS) gone.delete(gone.values().next().value!);
  }

  /** Forgets a whole flow (its consumer set). */
  removeFlow(flowControlId: FlowControlId): void {
    const consumers = this.#consumers.get(flowControlId);
    if (!consumers) return;
    this.#version++;
    this.#consumers.delete(flowControlId);
    for (const key of consumers) this.#forgetConsumes(key, flowControlId);
  }
}
