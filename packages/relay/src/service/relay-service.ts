import { randomBytes, timingSafeEqual } from "node:crypto";
import {
  assertNodeArgument,
  checkFlowControlIds,
  checkOptionKeys,
  describeValue,
  InvalidOptionError,
  isOptionsObject,
  KeyCounts,
  NodeStoppedError,
  notAnOptionsObjectError,
  optionKeys,
  route,
  startRelay,
  type Address,
  type AddressLike,
  type Context,
  type FlowControlId,
  type Logger,
  type Node,
  type RelayMailbox,
  type RelayOptions,
  type Route,
  type Routed,
  type Worker,
} from "@hopwire/runtime";
import { peerIdentifierOf, secureChannelFirstHop, secureChannelRemoteRoute, shareSecureChannelCredit, type Identifier } from "@hopwire/secure-channel";
import { tcpTransportOf, type TcpConnection } from "@hopwire/transport-tcp";
import { addressOption } from "../address-option.js";
import { RelayRegistrantStalledError, type RefusalCode } from "../errors.js";
import { reportEvent } from "../events.js";
import {
  DEFAULT_RELAY_SERVICE_ADDRESS,
  FORWARDER_PREFIX,
  forwarderAddress,
  isRelayName,
  MAX_REQUEST_BYTES,
  parseRequest,
  type ConnectionChallenge,
  type ForwardOver,
  type RelayReply,
} from "../protocol.js";
import type { RelayPolicy } from "./relay-policy.js";

/** Options of {@link startRelayService}. */
export interface RelayServiceOptions {
  /** Who may register which name. Required: a relay service has no open default. */
  policy: RelayPolicy;
  /** The service's address (default `"forwarding_service"`). */
  address?: AddressLike;
  /**
   * Flow controls whose messages may reach the service: the secure channel listener(s)
   * registrants come through (`secureChannelListener.flowControlId`). One id or several,
   * as `consumerOf` elsewhere.
   */
  serviceConsumerOf?: FlowControlId | readonly FlowControlId[];
  /**
   * Flow controls whose messages may reach every forwarder: the TCP listener(s) that the
   * nodes reaching registrants connect to (`tcpListener.flowControlId`). One id or several.
   */
  forwarderConsumerOf?: FlowControlId | readonly FlowControlId[];
  /**
   * Called with one readable line per registration, refusal and removal (default: none). An
   * exception it throws (or a promise it returns that rejects) is logged at warn on the node's
   * logger and ignored: the registrant is still answered, the forwarder still removed.
   */
  onEvent?: (event: RelayServiceEvent) => void;
  /**
   * Names one registrant's secure channel may hold at once (default 64,
   * DEFAULT_MAX_NAMES_PER_CHANNEL): past it a registration is refused.
   */
  maxNamesPerChannel?: number;
  /**
   * Names one identity may hold at once, over all its channels (default 256,
   * DEFAULT_MAX_NAMES_PER_IDENTITY): past it a registration is refused, so that one allowed
   * identity (e.g. one a `*` rule allows) cannot fill the node with forwarders by opening
   * more channels.
   */
  maxNamesPerIdentity?: number;
  /**
   * Names the service holds at once (default 16,384, DEFAULT_MAX_NAMES): past it a new name
   * is refused. What bounds the node when the policy allows every identity, as identities
   * cost nothing to make.
   */
  maxNames?: number;
  /**
   * Whether a registrant may ask for its forwarded traffic over the TCP connection its secure
   * channel rides on rather than inside that channel (`createRemoteRelay`'s `forwardOver:
   * "connection"`; default false: it is then forwarded inside the channel, and the reply says so).
   * Off by default: the registrant's connection then carries its initiators' traffic with no share per
   * initiator (a registrant that reads slowly slows its initiators' channels to others), the routing
   * heads travel in clear on that hop. Granted only on a connection proven to end at the registrant's
   * node (a nonce sent on it comes back through the channel): see packages/relay/README.md,
   * "Forwarding over the connection".
   */
  allowForwardOverConnection?: boolean;
  /**
   * A registrant connection that carries forwarded traffic (`allowForwardOverConnection`) and holds
   * bytes past its high-water mark while it passes none on for this long, in ms, is closed at once
   * (`RelayRegistrantStalledError`, `RELAY_REGISTRANT_STALLED`): its names are removed and the
   * initiator connections waiting on it read again (default 10 000, DEFAULT_CONNECTION_STALL_MS: a
   * third of the default peer timeout, as a registrant channel's stall close).
   */
  connectionStallMs?: number;
}

/** See RelayServiceOptions.connectionStallMs. */
export const DEFAULT_CONNECTION_STALL_MS = 10_000;

/** See RelayServiceOptions.maxNamesPerChannel. */
export const DEFAULT_MAX_NAMES_PER_CHANNEL = 64;
/** See RelayServiceOptions.maxNamesPerIdentity. */
export const DEFAULT_MAX_NAMES_PER_IDENTITY = 256;
/** See RelayServiceOptions.maxNames. */
export const DEFAULT_MAX_NAMES = 16_384;

/** What happened at a relay service, for logs. */
export type RelayServiceEvent =
  | { kind: "registered"; name: string; address: string; identifier: Identifier; replaced: boolean; over: ForwardOver }
  | { kind: "refused"; name: string; code: RefusalCode; identifier?: Identifier }
  | { kind: "removed"; name: string; address: string; reason: string };

/** One registered name: its forwarder and who registered it. */
export interface Registration {
  readonly name: string;
  readonly identifier: Identifier;
  readonly forwarder: RelayMailbox;
  /** The way the forwarder takes to the registrant: inside its channel, or on the connection under it. */
  readonly over: ForwardOver;
  /** The registration's return route: through the registrant's channel to its RemoteRelay. */
  readonly returnRoute: Route;
}

/** Registrations replaced that a name remembers (each is told so at its next heartbeat, then stops). */
const MAX_SUPERSEDED_PER_NAME = 16;

/**
 * Starts a relay service (Ockam's forwarding service) on `node`. A registrant sends it a
 * registration over a secure channel; if the policy allows the registrant's identity for
 * that name, the service starts a forwarder at `forward_to_<name>` that sends everything
 * along the registration's return route — back through the registrant's channel — with
 * the runtime's built-in relay (main thread, no copy of the payload). Registering a name
 * again replaces its forwarder; a forwarder goes away when the channel it forwards into does.
 */
export async function startRelayService(node: Node, options: RelayServiceOptions): Promise<RelayService> {
  assertNodeArgument(node, { what: "startRelayService", runs: "relays" });
  if (!isOptionsObject(options)) throw notAnOptionsObjectError("relay service options must be an object", options);
  checkOptionKeys(options, RELAY_SERVICE_OPTIONS, "relay service options");
  if (typeof options.policy !== "function") throw new InvalidOptionError("options.policy must be a RelayPolicy function", { option: "policy" });
  for (const option of ["maxNamesPerChannel", "maxNamesPerIdentity", "maxNames", "connectionStallMs"] as const) {
    const max = options[option];
    if (max !== undefined && (!Number.isSafeInteger(max) || max < 1)) {
      throw new InvalidOptionError(`options.${option} must be a positive integer, got ${describeValue(max)}`, { option });
    }
  }
  if (options.onEvent !== undefined && typeof options.onEvent !== "function") {
    throw new InvalidOptionError(`options.onEvent must be a function, got ${typeof options.onEvent}`, { option: "onEvent" });
  }
  if (options.allowForwardOverConnection !== undefined && typeof options.allowForwardOverConnection !== "boolean") {
    throw new InvalidOptionError(`options.allowForwardOverConnection must be a boolean, got ${describeValue(options.allowForwardOverConnection)}`, {
      option: "allowForwardOverConnection",
    });
  }
  const serviceConsumerOf = checkFlowControlIds(options.serviceConsumerOf, "serviceConsumerOf", "relay service options");
  if (node.stopped) throw new NodeStoppedError("Cannot start a relay service on a stopped node");
  const service = new RelayService(node, options);
  await node.startWorker(service.address, service, { placement: "main" });
  for (const id of serviceConsumerOf) node.flowControls.addConsumer(service.address, id);
  return service;
}

/** Every key of RelayServiceOptions (the type makes this list complete). */
const RELAY_SERVICE_OPTIONS = optionKeys<RelayServiceOptions>({
  policy: true,
  address: true,
  serviceConsumerOf: true,
  forwarderConsumerOf: true,
  onEvent: true,
  maxNamesPerChannel: true,
  maxNamesPerIdentity: true,
  maxNames: true,
  allowForwardOverConnection: true,
  connectionStallMs: true,
});

/** A running relay service: a worker on the node's main thread. */
export class RelayService implements Worker {
  readonly address: Address;
  readonly #node: Node;
  /** First hops of askers with a reply waiting for room there (see #reply). */
  readonly #waitingReplies = new Set<string>();
  readonly #options: RelayServiceOptions;
  readonly #log: Logger;
  readonly #forwarderConsumerOf: readonly FlowControlId[];
  readonly #registrations = new Map<string, Registration & { unwatch: () => void; channel: string; connection: TcpConnection | undefined }>();
  /**
   * Registrant connections that carry forwarded traffic, watched for a stall: the bytes their
   * socket had taken when last looked at, and since when that has not grown while over the
   * high-water mark.
   */
  readonly #stallWatch = new Map<TcpConnection, { sent: number; since: number }>();
  #stallTimer: NodeJS.Timeout | undefined;
  /** Names forwarded over each registrant connection (forwardOver "connection"): its marks go with the last. */
  readonly #namesPerConnection = new Map<TcpConnection, number>();
  /**
   * Challenges sent on registrant connections (forwardOver "connection"), by the registrant channel's key
   * and name: the nonce, the registration's return route and connection, until proven, replaced or expired.
   */
  readonly #challenges = new Map<string, { nonce: Buffer; returnRoute: Route; connection: TcpConnection; timer: NodeJS.Timeout; channel: string }>();
  readonly #challengesPerChannel = new KeyCounts();
  /** Names held per registrant channel (the key of its first hop), and per registrant identity. */
  readonly #namesPerChannel = new KeyCounts();
  readonly #namesPerIdentity = new KeyCounts();

  /** By name: the return routes of the registrations replaced since the name was last free (what a ping from one is told). */
  readonly #superseded = new Map<string, Route[]>();
  /** Removes the explanation of missing forwarders (initialize). */
  #unexplain: (() => void) | undefined;

  /** @internal use startRelayService */
  constructor(node: Node, options: RelayServiceOptions) {
    this.#node = node;
    this.#options = options;
    this.#log = node.log.child("relay");
    this.#forwarderConsumerOf = checkFlowControlIds(options.forwarderConsumerOf, "forwarderConsumerOf", "relay service options");
    this.address = addressOption(options.address, "address", DEFAULT_RELAY_SERVICE_ADDRESS, "relay service options");
  }

  /** The names registered now. */
  get registrations(): ReadonlyMap<string, Registration> {
    return this.#registrations;
  }

  /** Answers a registration or a heartbeat; anything else from the network is dropped. */
  async handleMessage(ctx: Context, message: Routed): Promise<void> {
    // A request is a few dozen bytes: a larger body is none, and is not decoded (see MAX_REQUEST_BYTES).
    if (message.message.payloadLength > MAX_REQUEST_BYTES) {
      ctx.log.debug("relay service: dropped a message larger than any relay request");
      return;
    }
    let body: unknown;
    try {
      body = message.body;
    } catch {
      ctx.log.debug("relay service: dropped an undecodable message");
      return;
    }
    const request = parseRequest(body);
    if (request === undefined) {
      ctx.log.debug("relay service: dropped a message that is not a relay request");
      return;
    }
    const identifier = peerIdentifierOf(message);
    if (request.t === "ping") {
      // Only the registrant's own channel can tell that its registration still holds.
      const held = this.#registrations.get(request.name);
      const registered = held !== undefined && held.returnRoute.equals(message.returnRoute) && !held.forwarder.stopped;
      // That another holds the name is told only to the registrant it replaced (from its own channel): anyone else
      // learnt from it which names are registered (an adversarial trial, session 43). No policy call: its latency told too.
      const replaced = held !== undefined && !registered && (this.#superseded.get(request.name)?.some((r) => r.equals(message.returnRoute)) ?? false);
      this.#reply(ctx, message, { t: "pong", id: request.id, registered, replaced });
      return;
    }
    const refusal = (await this.#check(request.name, identifier)) ?? this.#checkCounts(request.name, identifier!, message);
    if (refusal !== undefined) {
      // An invalid name from the network is reported quoted and escaped: it goes into logs.
      const name = isRelayName(request.name) ? request.name : JSON.stringify(String(request.name).slice(0, 64));
      this.#report({ kind: "refused", name, code: refusal.code, ...(identifier ? { identifier } : {}) });
      this.#reply(ctx, message, { t: "refused", id: request.id, ...refusal });
      return;
    }
    // Over the connection only once proven: the service sends a nonce on the bare connection to the
    // registrant's RemoteRelay, which sends it back inside its channel (see #challenge).
    let proven = false;
    if (request.t === "register" && request.over === "connection" && this.#options.allowForwardOverConnection === true) {
      if (request.proof === undefined) {
        if (this.#challenge(ctx, message, request.id, request.name)) {
          this.#reply(ctx, message, { t: "challenge", id: request.id });
          return;
        }
      } else proven = this.#proven(message, request.name, request.proof);
    }
    let address: string;
    let over: ForwardOver;
    try {
      ({ address, over } = await this.#register(request.name, identifier!, message, proven));
    } catch (error) {
      // e.g. forward_to_<name> is another worker's address on this node: refuse rather than leave the registrant waiting.
      ctx.log.debug(`relay service: could not start the forwarder for "${request.name}"`, error);
      this.#report({ kind: "refused", name: request.name, code: "RELAY_REGISTRATION_REFUSED", identifier: identifier! });
      const why = `The relay node cannot forward "${request.name}" (${(error as { code?: string }).code ?? "error"})`;
      this.#reply(ctx, message, { t: "refused", id: request.id, code: "RELAY_REGISTRATION_REFUSED", message: why });
      return;
    }
    this.#reply(ctx, message, { t: "registered", id: request.id, name: request.name, address, over });
  }

  /**
   * A message for `forward_to_<name>` that nobody holds is said in the relay's terms: the
   * runtime's own advice, to start a worker under that address, is wrong for a forwarder.
   */
  initialize(): void {
    this.#unexplain = this.#node.explainMissing(FORWARDER_PREFIX, (address) => {
      const name = address.slice(FORWARDER_PREFIX.length);
      return (
        `no relay is registered as "${name}" on this node now: the node that registers it (createRemoteRelay) is not connected, ` +
        `or the sender names the wrong relay`
      );
    });
  }

  /** Removes every registration (and its forwarder) when the service stops. */
  async shutdown(): Promise<void> {
    this.#unexplain?.();
    for (const key of [...this.#challenges.keys()]) this.#dropChallenge(key);
    if (this.#stallTimer !== undefined) clearInterval(this.#stallTimer);
    this.#stallTimer = undefined;
    this.#stallWatch.clear();
    for (const name of [...this.#registrations.keys()]) this.#remove(name, "the relay service stopped");
  }

  async #check(name: string, identifier: Identifier | undefined): Promise<{ code: RefusalCode; message: string } | undefined> {
    if (identifier === undefined) {
      return { code: "RELAY_NOT_SECURE", message: "A relay registration must arrive over a secure channel" };
    }
    if (!isRelayName(name)) {
      return { code: "RELAY_NAME_INVALID", message: "A relay name is 1 to 64 letters, digits, '_', '-' or '.'" };
    }
    let allowed = false;
    try {
      allowed = (await this.#options.policy(name, identifier)) === true;
    } catch {
      allowed = false; // a policy that throws refuses
    }
    if (!allowed) return { code: "RELAY_REGISTRATION_REFUSED", message: `${identifier} may not register the relay "${name}"` };
    return undefined;
  }

  /**
   * The bounds on names held: per channel, per identity, in all. A registrant at its bound may
   * register again a name it holds, not a new one; replacing a name does not add one.
   */
  #checkCounts(name: string, identifier: Identifier, message: Routed): { code: RefusalCode; message: string } | undefined {
    const held = this.#registrations.get(name);
    const channel = message.returnRoute.next().key;
    const o = this.#options;
    const perChannel = o.maxNamesPerChannel ?? DEFAULT_MAX_NAMES_PER_CHANNEL;
    if (this.#namesPerChannel.get(channel) >= perChannel && held?.channel !== channel) {
      return refused(`A secure channel may hold at most ${perChannel} relay names at once (maxNamesPerChannel)`);
    }
    const perIdentity = o.maxNamesPerIdentity ?? DEFAULT_MAX_NAMES_PER_IDENTITY;
    if (this.#namesPerIdentity.get(identifier) >= perIdentity && held?.identifier !== identifier) {
      return refused(`An identity may hold at most ${perIdentity} relay names at once (maxNamesPerIdentity)`);
    }
    const total = o.maxNames ?? DEFAULT_MAX_NAMES;
    if (this.#registrations.size >= total && held === undefined) {
      return refused(`This relay node holds ${total} relay names, its most (maxNames)`);
    }
    return undefined;
  }

  async #register(name: string, identifier: Identifier, message: Routed, proven: boolean): Promise<{ address: string; over: ForwardOver }> {
    const previous = this.#registrations.get(name);
    const replaced = previous !== undefined;
    // Its registrant learns at its next heartbeat that another holds the name now (and only it: see the ping). Every
    // one replaced since the name was free is kept (the last few): with only the last, a registrant replaced twice
    // before its heartbeat was told nothing, registered again and took the name back from the newest (a review's catch).
    if (previous !== undefined) {
      const routes = this.#superseded.get(name) ?? [];
      routes.push(previous.returnRoute);
      if (routes.length > MAX_SUPERSEDED_PER_NAME) routes.shift();
      this.#superseded.set(name, routes);
    }
    this.#remove(name, "registered again", false);
    const address = forwarderAddress(name);
    const registrant = this.#registrantConnection(message);
    // Over the connection: the forwarder's route is the relay node's connection under the registrant's
    // channel, then what follows the channel in the registration's return route (the RemoteRelay's
    // address on the registrant's node). The registrant's node lets that connection reach only its
    // RemoteRelay; the registrant's answers come back on the connection too (their return routes name it).
    // Only a proven connection (#proven: the challenge's nonce came back through the channel) is granted.
    const way = proven && this.#options.allowForwardOverConnection === true && registrant !== undefined ? this.#connectionRoute(message) : undefined;
    const over: ForwardOver = way !== undefined && way.connection === registrant ? "connection" : "channel";
    const to = over === "connection" ? way!.to : message.returnRoute;
    // The registrant's answers to all its initiators come through its one channel: one initiator that reads
    // nothing must not hold that channel's credit (and with it every other's answers, and the heartbeats).
    if (over === "channel") shareSecureChannelCredit(this.#node, message.returnRoute.next());
    // The forwarder's traffic reaches that connection inside the registrant's channel, which
    // hides who fed it from the transport: the forwarder says so.
    const relayOptions: RelayOptions = registrant ? { onForward: (returnRoute) => registrant.noteFedBy(returnRoute) } : {};
    let forwarder: RelayMailbox;
    try {
      forwarder = await startRelay(this.#node, address, to, relayOptions);
    } catch (error) {
      this.#superseded.delete(name); // the name is free now: nobody was replaced by this registration
      throw error;
    }
    if (over === "connection") {
      // Its answers to one initiator that reads nothing must not stop the relay node reading them all (and
      // its heartbeats); and while it reads nothing itself, the initiators that feed it wait a bounded time.
      // Once the forwarder runs: a forwarder that could not start leaves no mark (see #remove for its end).
      registrant!.markSharedFeeder();
      this.#watchStall(registrant!);
    }
    for (const id of this.#forwarderConsumerOf) this.#node.flowControls.addConsumer(address, id);
    // The forwarder's first hop is the registrant's channel: when it closes, so does the name.
    const firstHop = message.returnRoute.next();
    const closed = (what: string) => (why: unknown) => {
      // Why it closed, by its code (SECURE_CHANNEL_PEER_GONE, SECURE_CHANNEL_PEER_STALLED, ...), where it has one.
      const code = (why as { code?: unknown } | undefined)?.code;
      const reason = typeof code === "string" ? `${what} closed: ${code}` : `${what} closed`;
      if (this.#registrations.get(name)?.forwarder === forwarder) this.#remove(name, reason);
    };
    const unwatchChannel = this.#node.router.watchHop(firstHop, closed("its secure channel"));
    // Over the connection, the forwarder's first hop is the connection: when it closes, so does the name
    // (the channel on it closes too, but the forwarder must not outlive its own next hop meanwhile).
    const unwatchConnection = over === "connection" ? this.#node.router.watchHop(registrant!.address, closed("its connection")) : undefined;
    const unwatch = (): void => {
      unwatchChannel();
      unwatchConnection?.();
    };
    const channel = firstHop.key;
    const connection = over === "connection" ? registrant : undefined;
    if (connection !== undefined) this.#namesPerConnection.set(connection, (this.#namesPerConnection.get(connection) ?? 0) + 1);
    this.#registrations.set(name, { name, identifier, forwarder, unwatch, channel, over, returnRoute: message.returnRoute, connection });
    this.#namesPerChannel.add(channel);
    this.#namesPerIdentity.add(identifier);
    this.#report({ kind: "registered", name, address, identifier, replaced, over });
    return { address, over };
  }

  /**
   * The TCP connection the registration came in on (the first hop of the registrant's
   * channel), made a next hop (docs/transport-tcp.md, "When the hop after a relay dies"):
   * when it closes, the connections whose traffic the forwarder passed to the registrant
   * are closed, so those initiators learn at once that the registrant is gone rather than
   * at their channels' peer timeout. It stays one while open, also after the name is
   * removed: the channels opened through the forwarder still ride on it.
   */
  #registrantConnection(registration: Routed): TcpConnection | undefined {
    const firstHop = secureChannelFirstHop(this.#node, registration.returnRoute.next());
    const connection = firstHop && tcpTransportOf(this.#node)?.connectionOf(firstHop);
    if (connection?.state !== "open") return undefined;
    connection.markNextHop();
    return connection;
  }

  /**
   * The registrant connection and the route after its channel, if forwarding over that connection
   * could reach the registration's sender: the channel's first hop is an open TCP connection, the
   * channel's peer end is on the node at the other end of it (the channel's route to it is that
   * connection then that end: a further Hopwire hop would have put its own address between them), and
   * one address (the RemoteRelay's) follows the channel in the return route.
   */
  #connectionRoute(message: Routed): { connection: TcpConnection; to: Route } | undefined {
    const remote = secureChannelRemoteRoute(this.#node, message.returnRoute.next());
    if (remote === undefined || remote.length !== 2) return undefined;
    const firstHop = remote.next();
    const connection = tcpTransportOf(this.#node)?.connectionOf(firstHop);
    if (connection?.state !== "open") return undefined;
    const behind = message.returnRoute.popFront();
    if (behind.length !== 1) return undefined;
    return { connection, to: behind.prepend(route(connection.address)) };
  }

  /**
   * Sends a challenge on the bare connection under the registrant's channel, to the address that
   * follows the channel in the registration's return route: `{ t: "prove", id, nonce }`. Only the node
   * at the other end of that connection receives it (a registrant whose channel rides through another
   * Hopwire node sends that node's connection nothing it could answer), and only what speaks in the
   * registrant's authenticated channel can send it back. False if the registration cannot be forwarded
   * over the connection (it is then registered inside the channel).
   */
  #challenge(ctx: Context, message: Routed, id: string, name: string): boolean {
    const way = this.#connectionRoute(message);
    if (way === undefined) return false;
    const channel = message.returnRoute.next().key;
    const key = `${channel}\u0000${name}`;
    this.#dropChallenge(key);
    // One per name and channel, at most maxNamesPerChannel per channel and maxNames in all: what a registrant
    // that never answers can make the node keep, each for CHALLENGE_TTL_MS.
    if (this.#challengesPerChannel.get(channel) >= (this.#options.maxNamesPerChannel ?? DEFAULT_MAX_NAMES_PER_CHANNEL)) return false;
    if (this.#challenges.size >= (this.#options.maxNames ?? DEFAULT_MAX_NAMES)) return false;
    const nonce = randomBytes(16);
    const timer = setTimeout(() => this.#dropChallenge(key), CHALLENGE_TTL_MS);
    timer.unref();
    this.#challenges.set(key, { nonce, returnRoute: message.returnRoute, connection: way.connection, timer, channel });
    this.#challengesPerChannel.add(channel);
    const body: ConnectionChallenge = { t: "prove", id, nonce: nonce.toString("hex") };
    // "drop": a registrant connection that reads nothing cannot make the service wait (see #reply).
    ctx.send(way.to, body, CHALLENGE_SEND).catch((error: unknown) => ctx.log.debug("relay service: a challenge could not be sent", error));
    return true;
  }

  /** Whether `proof` is the nonce of the challenge sent for this name to this registration's channel, on the same connection (used up either way). */
  #proven(message: Routed, name: string, proof: string): boolean {
    const key = `${message.returnRoute.next().key}\u0000${name}`;
    const challenge = this.#challenges.get(key);
    if (challenge === undefined) return false;
    this.#dropChallenge(key);
    const given = /^[0-9a-f]{32}$/.test(proof) ? Buffer.from(proof, "hex") : undefined;
    if (given === undefined || !timingSafeEqual(given, challenge.nonce)) return false;
    const way = this.#connectionRoute(message);
    return way !== undefined && way.connection === challenge.connection && challenge.returnRoute.equals(message.returnRoute);
  }

  #dropChallenge(key: string): void {
    const challenge = this.#challenges.get(key);
    if (challenge === undefined) return;
    clearTimeout(challenge.timer);
    this.#challenges.delete(key);
    this.#challengesPerChannel.remove(challenge.channel);
  }

  /** Watches a registrant connection that carries forwarded traffic for a stall (connectionStallMs). */
  #watchStall(connection: TcpConnection): void {
    if (this.#stallWatch.has(connection)) return;
    this.#stallWatch.set(connection, { sent: connection.socketBytesSent, since: Date.now() });
    if (this.#stallTimer !== undefined) return;
    const every = Math.max(25, Math.floor((this.#options.connectionStallMs ?? DEFAULT_CONNECTION_STALL_MS) / 4));
    this.#stallTimer = setInterval(() => this.#checkStalls(), every);
    this.#stallTimer.unref();
  }

  /**
   * Closes the registrant connections that held bytes past their high-water mark and passed none on
   * for connectionStallMs (its socket took more bytes: progress; a slow reader keeps its connection).
   */
  #checkStalls(): void {
    const now = Date.now();
    const limit = this.#options.connectionStallMs ?? DEFAULT_CONNECTION_STALL_MS;
    for (const [connection, seen] of this.#stallWatch) {
      if (connection.state !== "open") {
        this.#stallWatch.delete(connection);
        continue;
      }
      // Progress is what went out on the socket, not what is queued going down: a registrant that reads slowly
      // while its initiators keep it fed holds its queue at the high-water mark, and reads all the same.
      const sent = connection.socketBytesSent;
      if (!connection.needsDrain || sent !== seen.sent) {
        seen.sent = sent;
        seen.since = now;
        continue;
      }
      if (now - seen.since < limit) continue;
      const buffered = connection.bufferedBytes;
      this.#stallWatch.delete(connection);
      const error = new RelayRegistrantStalledError(
        `The registrant connection ${connection.peer} held ${buffered} bytes past its high-water mark and passed none on for ${now - seen.since} ms (connectionStallMs ${limit})`,
      );
      for (const [name, held] of [...this.#registrations]) {
        if (held.connection === connection) this.#remove(name, "its connection stalled: RELAY_REGISTRANT_STALLED");
      }
      connection.abort(error);
    }
    if (this.#stallWatch.size === 0 && this.#stallTimer !== undefined) {
      clearInterval(this.#stallTimer);
      this.#stallTimer = undefined;
    }
  }

  #remove(name: string, reason: string, report = true): void {
    const held = this.#registrations.get(name);
    if (!held) return;
    this.#registrations.delete(name);
    this.#namesPerChannel.remove(held.channel);
    this.#namesPerIdentity.remove(held.identifier);
    held.unwatch();
    held.forwarder.stop();
    // Its connection carries forwarded traffic no more (unless another name's does): an ordinary feeder
    // again, not watched for a stall (before: a connection that stayed after its registrant's channel closed
    // was still closed as RELAY_REGISTRANT_STALLED, and fed as a shared feeder).
    const connection = held.connection;
    const left = connection === undefined ? 0 : (this.#namesPerConnection.get(connection) ?? 0) - 1;
    if (connection !== undefined && left > 0) this.#namesPerConnection.set(connection, left);
    else if (connection !== undefined) {
      this.#namesPerConnection.delete(connection);
      connection.markSharedFeeder(false);
      this.#stallWatch.delete(connection);
    }
    if (!report) return; // replaced: #register goes on
    // Removed for good: the name is free, and its superseded registrants may take it again.
    this.#superseded.delete(name);
    this.#report({ kind: "removed", name, address: held.forwarder.address.toString(), reason });
  }

  /** Calls options.onEvent; what it throws is logged and ignored (see reportEvent). */
  #report(event: RelayServiceEvent): void {
    reportEvent(this.#options.onEvent, event, this.#log, `relay service ${this.address.toString()}`);
  }

  /**
   * Answers without holding up the other askers: the handler does not wait for the reply. A
   * reply to a full first hop waits for room there, up to REPLY_WAIT_MS, one per asker: the
   * next one to that asker while it waits is dropped. Awaited, with that timeout, an
   * adversarial trial (session 44) held the service 5 s per ping of a peer that withheld its
   * channel's credit, and every registrant's heartbeat timed out behind it; dropped whenever
   * the hop was full, a busy registrant's pong (its forwarder fills the same channel) was lost
   * and the registrant reconnected, cutting every relayed connection (a review, session 44).
   */
  #reply(ctx: Context, message: Routed, reply: RelayReply): void {
    const first = message.returnRoute.isEmpty ? undefined : message.returnRoute.next();
    const full = first !== undefined && this.#node.router.mailboxOf(first)?.isFull === true;
    if (full && this.#waitingReplies.has(first.key)) {
      ctx.log.debug("relay service: dropped a reply: an earlier one to the same asker still waits for room");
      return;
    }
    if (full) this.#waitingReplies.add(first.key);
    ctx.send(message.returnRoute, reply, REPLY_WAIT)
      .catch((error: unknown) => ctx.log.debug("relay service: a reply could not be sent", error))
      .finally(() => full && this.#waitingReplies.delete(first.key));
  }
}

/** How long a reply may wait for room in its asker's first hop (see RelayService.#reply). */
const REPLY_WAIT_MS = 5_000;
const REPLY_WAIT = Object.freeze({ timeout: REPLY_WAIT_MS });
/** How long a challenge (forwardOver "connection") may be answered. */
const CHALLENGE_TTL_MS = 10_000;
const CHALLENGE_SEND = Object.freeze({ ifFull: "drop" as const });

function refused(message: string): { code: RefusalCode; message: string } {
  return { code: "RELAY_REGISTRATION_REFUSED", message };
}
