import { randomBytes } from "node:crypto";
import {
  assertNodeArgument,
  Address,
  checkOptionKeys,
  checkTimeoutOption,
  decodeBody,
  deferred,
  describeValue,
  encodeBody,
  FlowControls,
  InvalidOptionError,
  isOptionsObject,
  LocalMessage,
  NodeStoppedError,
  notAnOptionsObjectError,
  optionKeys,
  route,
  StopOnce,
  TimeoutError,
  waitFor,
  type AddressLike,
  type FlowControlId,
  type Logger,
  type Mailbox,
  type Node,
} from "@hopwire/runtime";
import {
  assertIdentity,
  createSecureChannel,
  isIdentifier,
  SecureChannelOptions,
  trustEveryone,
  type Identity,
  type SecureChannel,
  type TrustPolicy,
  UntrustedIdentityError,
} from "@hopwire/secure-channel";
import { TcpProtocolVersionError } from "@hopwire/transport-tcp";
import { addressOption } from "../address-option.js";
import { reportEvent } from "../events.js";
import { REFUSAL_ERRORS, RelayNameInvalidError, RelayReplacedError, RelayStoppedError, RelayUnreachableError } from "../errors.js";
import { DEFAULT_RELAY_SERVICE_ADDRESS, isRelayName, MAX_REPLY_BYTES, parseChallenge, parseReply, type ForwardOver, type RelayReply, type RelayRequest } from "../protocol.js";
import { backoffDelay, checkBackoff, type BackoffOptions } from "./backoff.js";
import type { RelayConnection, RelayConnector } from "./relay-connection.js";

/** The relay node's secure channel listener a RemoteRelay connects to by default (Ockam's `api`). */
export const DEFAULT_RELAY_LISTENER_ADDRESS = "api";
/** Default time between heartbeats on a registered relay, in ms. */
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 5_000;
/** Default time the relay service has to answer a registration or a heartbeat, in ms. */
export const DEFAULT_REPLY_TIMEOUT_MS = 5_000;

/** Options of {@link createRemoteRelay}. */
export interface RemoteRelayOptions {
  /** The name to register: the relay node then runs `forward_to_<name>`. */
  name: string;
  /** The identity this node registers with (the relay's policy must allow it for `name`). */
  identity: Identity;
  /** Opens a way to the relay node, on the first attempt and on every reconnection (e.g. {@link tcpRelayConnector}). */
  connect: RelayConnector;
  /** The relay node's secure channel listener (default `"api"`). */
  listener?: AddressLike;
  /** The relay service's address on the relay node (default `"forwarding_service"`). */
  service?: AddressLike;
  /** Which relay node identities to trust (default: everyone — pin it with `trustIdentifier(...)`). */
  trust?: TrustPolicy;
  /** Time between heartbeats, in ms (default 5 000). */
  heartbeatIntervalMs?: number;
  /** Time the service has to answer a registration or heartbeat, in ms (default 5 000). */
  replyTimeoutMs?: number;
  /** Time a secure channel handshake with the relay node may take, in ms (default 10 000). */
  handshakeTimeoutMs?: number;
  /** Waits between reconnection attempts (default 250 ms doubling to 10 s, with jitter). */
  backoff?: BackoffOptions;
  /**
   * Keep trying (with backoff) until the first registration succeeds, instead of rejecting
   * when the relay node cannot be reached (default false). A refusal still rejects at once;
   * `stop()` on the node rejects with RelayStoppedError.
   */
  retryUntilRegistered?: boolean;
  /**
   * Called with what happens, for logs (default: nothing). An exception it throws (or a
   * promise it returns that rejects) is logged at warn on the node's logger and ignored:
   * the RemoteRelay goes on as if the callback had returned.
   */
  onEvent?: (event: RemoteRelayEvent) => void;
  /**
   * The way the relay node passes what reaches `forward_to_<name>` on to this node (default
   * `"channel"`): inside the secure channel to the relay node, or (`"connection"`) beside it, on
   * the TCP connection that channel rides on, so that an initiator's channel to this node is not
   * encrypted a second time on that hop. The registration still goes through the channel
   * (authenticated), and asks for it, then proves that it receives what the relay node sends on the
   * connection (a nonce, sent back through the channel); a relay node that does not allow it
   * (`allowForwardOverConnection`), a connection that is not one TCP hop, or a proof that fails keeps the channel:
   * `forwardingOver` says which was granted. See packages/relay/README.md, "Forwarding over the connection".
   */
  forwardOver?: ForwardOver;
}

/** What happened to a RemoteRelay, for logs. */
export type RemoteRelayEvent =
  | { kind: "registered"; name: string; address: string; relayIdentifier: string; registrations: number; over: ForwardOver }
  | { kind: "disconnected"; name: string; reason: Error }
  | { kind: "retrying"; name: string; delayMs: number; reason: Error }
  | { kind: "refused"; name: string; error: Error }
  | { kind: "replaced"; name: string };

/**
 * Registers `options.name` at a relay node's relay service and keeps it registered (Ockam's
 * `RemoteRelay`). It opens a way to the relay node (only outgoing: the node can sit behind
 * NAT), a secure channel to the relay node's listener, and registers over it; the relay
 * node then forwards what reaches `forward_to_<name>` back through that channel to this
 * RemoteRelay, which routes it on to the local address named next in its onward route.
 *
 * What arrives through the relay reaches only consumers of `remoteRelay.flowControlId`:
 * `new SecureChannelListenerOptions().asConsumer(remoteRelay.flowControlId)` lets others
 * open secure channels to this node through the relay.
 *
 * Resolves once the first registration succeeded; rejects if it failed (a refusal, an
 * unreachable relay node). After that, a lost connection, a closed channel or a heartbeat
 * without answer makes it reconnect and register again, with backoff, until `stop()`. A
 * refusal is final: the RemoteRelay stops and reports it.
 */
export async function createRemoteRelay(node: Node, options: RemoteRelayOptions): Promise<RemoteRelay> {
  assertNodeArgument(node, { what: "createRemoteRelay", runs: "relays" });
  checkOptions(options);
  if (node.stopped) throw new NodeStoppedError("Cannot create a remote relay on a stopped node");
  const relay = new RemoteRelay(node, options);
  try {
    await relay.start();
  } catch (error) {
    await relay.stop();
    throw error;
  }
  return relay;
}

/** A name kept registered at a relay node; also the mailbox that receives what the relay forwards. */
export class RemoteRelay implements Mailbox {
  /** This node's address the relay node forwards to. */
  readonly address: Address;
  /** Messages from the relay are produced under this id: make local workers consumers of it. */
  readonly flowControlId: FlowControlId;
  readonly name: string;
  readonly #node: Node;
  readonly #options: RemoteRelayOptions;
  readonly #log: Logger;
  readonly #key: string;
  readonly #service: Address;
  readonly #listener: Address;
  readonly #pending = new Map<string, (reply: RelayReply) => void>();
  readonly #abort = new AbortController();
  #next: Mailbox | undefined;
  #channel: SecureChannel | undefined;
  #connection: RelayConnection | undefined;
  #forwarderAddress: string | undefined;
  /** The flow control of the connection to the relay node, if it is one TCP hop (what forwardOver "connection" needs). */
  #connectionFlow: { hop: Address; flowControlId: FlowControlId } | undefined;
  #over: ForwardOver | undefined;
  /** The registration waiting for its challenge on the bare connection (forwardOver "connection"). */
  #challenge: { id: string; nonce: string | undefined; heard: () => void } | undefined;
  #registrations = 0;
  #running: Promise<void> | undefined;
  readonly #stopOnce = new StopOnce(() => this.#stop());
  /** Why it gave up on its own (a refusal, a takeover), set before it stops; undefined for a stop() asked of it. */
  #why: Error | undefined;
  readonly #closed = deferred<Error | undefined>();

  /** @internal use createRemoteRelay */
  constructor(node: Node, options: RemoteRelayOptions) {
    this.#node = node;
    this.#options = options;
    this.#log = node.log.child("relay");
    this.name = options.name;
    this.address = Address.random();
    this.#key = this.address.key;
    this.flowControlId = FlowControls.generateId();
    this.#service = addressOption(options.service, "service", DEFAULT_RELAY_SERVICE_ADDRESS, "remote relay options");
    this.#listener = addressOption(options.listener, "listener", DEFAULT_RELAY_LISTENER_ADDRESS, "remote relay options");
  }

  /** The forwarder's address on the relay node (`forward_to_<name>`), once registered. */
  get forwarderAddress(): string | undefined {
    return this.#forwarderAddress;
  }

  /** The way the relay node forwards to this node now (`undefined` until registered). */
  get forwardingOver(): ForwardOver | undefined {
    return this.#over;
  }

  /** How many times the name was registered so far (1 after creation; more after reconnections). */
  get registrations(): number {
    return this.#registrations;
  }

  /** The secure channel to the relay node now, if one is up. */
  get channel(): SecureChannel | undefined {
    return this.#channel;
  }

  get stopped(): boolean {
    return this.#stopOnce.started;
  }

  /**
   * Resolves (never rejects) once this remote relay has stopped: with `undefined` when
   * `stop()` stopped it (its own, or its node's), else with why it gave up on its own: the
   * relay node refused the name again (`RelayRegistrationRefusedError`) or another
   * registrant took it (`RelayReplacedError`). A program under a supervisor awaits it to exit
   * and be restarted; until session 43 there was only `stopped` to poll, and `onEvent`.
   */
  get closed(): Promise<Error | undefined> {
    return this.#closed.promise;
  }

  /** @internal registers the mailbox and the first registration; called by createRemoteRelay. */
  async start(): Promise<void> {
    this.#node.flowControls.addProducer(this.address, this.flowControlId);
    this.#node.router.register([this.address], this);
    this.#stopOnce.hookTo(this.#node);
    for (let failures = 0; ; failures++) {
      try {
        await this.#attempt();
        break;
      } catch (error) {
        // The first attempt's failure is the caller's, unless asked to wait for the relay node.
        if (this.#options.retryUntilRegistered !== true || this.#stopOnce.started || isRefusal(error)) throw error;
        await this.#disconnect();
        const delayMs = backoffDelay(failures, this.#options.backoff);
        this.#report({ kind: "retrying", name: this.name, delayMs, reason: asError(error) });
        await sleep(delayMs, this.#abort.signal);
      }
    }
    // Nothing in the loop should throw; should it still, it must not end the process as an
    // unhandled rejection (stop() awaits this promise only later, if ever).
    this.#running = this.#keepAlive().catch((error: unknown) => {
      this.#log.warn(`${this.toString()}: keeping the registration failed; the remote relay stops`, asError(error));
      this.#why = asError(error);
      void this.stop().catch(() => {});
    });
  }

  // ---- the mailbox: what the relay forwards, and the service's replies ----

  /** Routes what the relay forwarded on to the local address named next; takes the service's replies. */
  deliver(message: LocalMessage): void {
    // Whether it came on the bare connection (forwardOver "connection" asked for): looked at only then.
    const bare = this.#connectionFlow !== undefined && !message.returnRoute.isEmpty && this.#connectionFlow.hop.equals(message.returnRoute.next());
    const rest = message.onwardRoute.popFront();
    if (rest.isEmpty) {
      // The service answers inside the channel: on the bare connection a "reply" is none, whoever wrote it.
      if (bare) this.#onChallenge(message);
      else this.#onReply(message);
      return;
    }
    // Before the grant the connection reaches this RemoteRelay for its challenge only: nothing is routed on from it.
    if (bare && this.#over !== "connection") return;
    // Routed as this RemoteRelay, a producer: only consumers of flowControlId may receive it.
    this.#next = this.#node.router.route(message.withOnwardRoute(rest), this.#key);
  }

  /** Full while the last next hop is: the channel from the relay then waits, as a relay's inbound side does. */
  get isFull(): boolean {
    return this.#next?.isFull === true;
  }

  onRoom(callback: () => void): () => void {
    const next = this.#next;
    if (next?.onRoom === undefined || next.isFull !== true) {
      queueMicrotask(callback);
      return () => {};
    }
    return next.onRoom(callback);
  }

  /**
   * Stops keeping the name registered, closes the channel and the connection, leaves the router.
   * Every call gets the first one's promise (the remote relay may have begun it itself, after a
   * refusal): each resolves once the connection is closed.
   */
  stop(): Promise<void> {
    return this.#stopOnce.stop();
  }

  async #stop(): Promise<void> {
    try {
      this.#abort.abort(new RelayStoppedError());
      await this.#disconnect();
      this.#node.router.unregister([this.address]);
      // Its flow ends with it: the consumers a program added (a secure channel listener
      // asConsumer of it) would otherwise keep an entry each, and the node the flow's set, for
      // every remote relay that ever stopped.
      this.#node.flowControls.removeFlow(this.flowControlId);
      await this.#running?.catch(() => {});
    } finally {
      this.#closed.resolve(this.#why);
    }
  }

  toString(): string {
    return `RemoteRelay(${this.name} -> ${this.#forwarderAddress ?? "unregistered"})`;
  }

  // ---- registering and keeping the registration ----

  /** One connection: connect, open the channel, register. Throws what went wrong. */
  async #attempt(): Promise<void> {
    const options = this.#options;
    this.#connection = checkedConnection(await options.connect(this.#abort.signal));
    this.#connectionFlow = undefined;
    this.#over = undefined;
    if (options.forwardOver === "connection") {
      // Only a connection of one hop ends at the relay node: through a further hop, what the relay
      // node sent on its connection would reach that hop's node, not this one.
      const way = route(this.#connection.route);
      const flow = way.length === 1 ? this.#node.flowControls.findFlowControlWithProducerAddress(way.next()) : undefined;
      if (flow !== undefined) this.#connectionFlow = { hop: way.next(), flowControlId: flow.flowControlId };
    }
    // A connector may hand its connection over after the stop began (it had dialled already):
    // the stop's #disconnect found none to close, and nothing after this would close it.
    await this.#closeIfStopped();
    const channelOptions = new SecureChannelOptions()
      .withTrustPolicy(options.trust ?? trustEveryone())
      .withHandshakeTimeout(options.handshakeTimeoutMs ?? 10_000)
      .withSignal(this.#abort.signal);
    this.#channel = await createSecureChannel(this.#node, options.identity, route(this.#connection.route, this.#listener), channelOptions);
    await this.#closeIfStopped();
    // The service's replies come back through the channel to this address.
    this.#node.flowControls.addConsumer(this.address, this.#channel.flowControlId);
    await this.#register(this.#channel);
  }

  async #register(channel: SecureChannel, signal: AbortSignal = this.#abort.signal): Promise<void> {
    const reply = this.#connectionFlow !== undefined ? await this.#registerOverConnection(channel, this.#connectionFlow, signal) : await this.#request(channel, { t: "register", name: this.name }, signal);
    if (reply.t === "refused") {
      // The code comes from the network: only our own codes pick a class.
      const ErrorClass = Object.hasOwn(REFUSAL_ERRORS, reply.code) ? REFUSAL_ERRORS[reply.code] : REFUSAL_ERRORS.RELAY_REGISTRATION_REFUSED;
      throw new ErrorClass(reply.message);
    }
    if (reply.t !== "registered") throw new RelayUnreachableError(`The relay service answered a registration with "${reply.t}"`);
    this.#forwarderAddress = reply.address;
    // Granted: what the relay node sends on the connection may reach this RemoteRelay, and nothing
    // else (it then routes as itself, a producer of flowControlId, as what comes through the channel).
    // Not granted: the connection reaches it no more.
    this.#over = reply.over === "connection" && this.#connectionFlow !== undefined ? "connection" : "channel";
    if (this.#over === "channel" && this.#connectionFlow !== undefined) this.#node.flowControls.removeConsumer(this.address, this.#connectionFlow.flowControlId);
    this.#registrations++;
    this.#report({
      kind: "registered",
      name: this.name,
      address: reply.address,
      relayIdentifier: channel.peerIdentifier,
      registrations: this.#registrations,
      over: this.#over,
    });
  }

  /** Calls options.onEvent; what it throws is logged and ignored (see reportEvent). */
  #report(event: RemoteRelayEvent): void {
    reportEvent(this.#options.onEvent, event, this.#log, `remote relay "${this.name}"`);
  }

  /** Heartbeats on the current channel; on a loss, reconnects with backoff; forever, until stop() or a refusal. */
  async #keepAlive(): Promise<void> {
    let delayMs = backoffDelay(0, this.#options.backoff);
    let failures = 0;
    while (!this.#stopOnce.started) {
      if (this.#channel !== undefined) {
        let reason: Error;
        try {
          reason = await this.#watch(this.#channel);
        } catch (error) {
          // Final: another registrant took the name, or the service refused it again (its policy changed).
          if (error instanceof RelayReplacedError) this.#report({ kind: "replaced", name: this.name });
          else this.#report({ kind: "refused", name: this.name, error: asError(error) });
          this.#why = asError(error);
          void this.stop();
          return;
        }
        // The node's stop closes its channels (this one too) before its hook stops this relay:
        // that is the stop, not a disconnection to report or recover from.
        if (this.#stopOnce.started || this.#node.stopped) return;
        this.#report({ kind: "disconnected", name: this.name, reason });
        await this.#disconnect();
      }
      try {
        await sleep(delayMs, this.#abort.signal);
        await this.#attempt();
        failures = 0;
        delayMs = backoffDelay(0, this.#options.backoff);
      } catch (error) {
        if (this.#stopOnce.started || this.#node.stopped) return;
        await this.#disconnect();
        if (isRefusal(error)) {
          this.#report({ kind: "refused", name: this.name, error: asError(error) });
          this.#why = asError(error);
          void this.stop();
          return;
        }
        delayMs = backoffDelay(++failures, this.#options.backoff);
        this.#report({ kind: "retrying", name: this.name, delayMs, reason: asError(error) });
      }
    }
  }

  /** Resolves with why the channel is no good any more: its connection closed, or a heartbeat went unanswered. */
  async #watch(channel: SecureChannel): Promise<Error> {
    const interval = this.#options.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS;
    const lost = new AbortController();
    let why: Error | undefined;
    const fail = (error: Error): void => {
      why ??= error;
      lost.abort(error);
    };
    const unwatch = this.#node.router.watchHop(channel.address, (error) => fail(error));
    void this.#connection?.closed?.then(() => fail(new RelayUnreachableError("The connection to the relay node closed")));
    try {
      while (why === undefined && !this.#stopOnce.started) {
        try {
          const watching = AbortSignal.any([this.#abort.signal, lost.signal]);
          await sleep(interval, watching);
          // A loss ends the wait for the answer too: a ping in flight when the connection
          // closed (always, after the process was stopped a while) waited its reply timeout.
          const pong = await this.#request(channel, { t: "ping", name: this.name }, watching);
          // Another registrant took the name: it wins (taking it back would make two live
          // registrants flap). The service lost the name otherwise (it restarted): register again.
          if (pong.t === "pong" && pong.replaced) throw new RelayReplacedError(`Another registrant of "${this.name}" replaced this one`);
          if (pong.t === "pong" && !pong.registered) await this.#register(channel, watching);
        } catch (error) {
          if (isRefusal(error) || error instanceof RelayReplacedError) throw error;
          fail(asError(error));
        }
      }
      return why ?? new RelayStoppedError();
    } finally {
      unwatch();
    }
  }

  /**
   * Registers asking for forwardOver "connection": the service answers "challenge" once it sent a
   * nonce on the bare connection (to this RemoteRelay, which its flow may reach until the answer),
   * and grants it when the nonce comes back inside the channel. A nonce that does not come within the
   * reply timeout (the channel does not ride on a connection to this node, or someone on the way
   * dropped it): registered inside the channel.
   */
  async #registerOverConnection(channel: SecureChannel, flow: { flowControlId: FlowControlId }, signal: AbortSignal): Promise<RelayReply> {
    const id = randomBytes(8).toString("hex");
    let heard!: () => void;
    const nonce = new Promise<void>((resolve) => (heard = resolve));
    this.#challenge = { id, nonce: undefined, heard };
    this.#node.flowControls.addConsumer(this.address, flow.flowControlId);
    try {
      const reply = await this.#request(channel, { t: "register", name: this.name, over: "connection" }, signal, id);
      if (reply.t !== "challenge") return reply;
      const timeout = this.#options.replyTimeoutMs ?? DEFAULT_REPLY_TIMEOUT_MS;
      const got = await waitFor<boolean>((resolve) => void nonce.then(() => resolve(true)), { what: "relay challenge", timeout, signal }).catch((error: unknown) => {
        if (error instanceof TimeoutError) return false;
        throw error;
      });
      const proof = got ? this.#challenge.nonce : undefined;
      if (proof === undefined) return await this.#request(channel, { t: "register", name: this.name }, signal);
      return await this.#request(channel, { t: "register", name: this.name, over: "connection", proof }, signal);
    } finally {
      this.#challenge = undefined;
    }
  }

  /** A challenge on the bare connection for the registration waiting for one; anything else from it is dropped. */
  #onChallenge(message: LocalMessage): void {
    const waiting = this.#challenge;
    if (waiting === undefined || waiting.nonce !== undefined || message.payloadLength > MAX_REPLY_BYTES) return;
    let challenge;
    try {
      challenge = parseChallenge(decodeBody(message.payload));
    } catch {
      return;
    }
    if (challenge === undefined || challenge.id !== waiting.id) return;
    waiting.nonce = challenge.nonce;
    waiting.heard();
  }

  async #request(
    channel: SecureChannel,
    body: Omit<RelayRequest, "id" | "over"> & { name: string; over?: ForwardOver; proof?: string },
    signal: AbortSignal = this.#abort.signal,
    id = randomBytes(8).toString("hex"),
  ): Promise<RelayReply> {
    const timeout = this.#options.replyTimeoutMs ?? DEFAULT_REPLY_TIMEOUT_MS;
    const message = new LocalMessage(route(channel, this.#service), route(this.address), encodeBody({ ...body, id }));
    try {
      return await waitFor<RelayReply>(
        (resolve) => {
          this.#pending.set(id, resolve);
          this.#node.router.route(message, undefined);
        },
        { what: `relay ${body.t}`, timeout, signal, cleanup: () => this.#pending.delete(id) },
      );
    } catch (error) {
      if (error instanceof TimeoutError && body.t === "ping") {
        // A ping goes only over a channel whose registration the service answered: its address is right.
        throw new RelayUnreachableError(
          `The relay node did not answer a heartbeat within ${timeout} ms (its relay service "${this.#service.value}" answered before: the node is hung, overloaded or cut off)`,
          { cause: error },
        );
      }
      if (error instanceof TimeoutError) {
        // The channel is up, so the likely cause is a service address that nothing has there (a relay node drops such a message unanswered).
        const where = `"${this.#service.value}" on the relay node`;
        throw new RelayUnreachableError(
          `The relay service ${where} did not answer a ${body.t} within ${timeout} ms (is that the relay node's relay service address, option "service"? The default is "${DEFAULT_RELAY_SERVICE_ADDRESS}")`,
          { cause: error },
        );
      }
      throw error;
    }
  }

  #onReply(message: LocalMessage): void {
    if (message.payloadLength > MAX_REPLY_BYTES) return; // no reply: dropped undecoded (see MAX_REPLY_BYTES)
    let reply: RelayReply | undefined;
    try {
      reply = parseReply(decodeBody(message.payload));
    } catch {
      return; // not a reply: dropped
    }
    if (reply) this.#pending.get(reply.id)?.(reply);
  }

  /** Throws the stop's reason, once what this attempt holds is closed, if the remote relay began to stop meanwhile. */
  async #closeIfStopped(): Promise<void> {
    if (!this.#abort.signal.aborted) return;
    await this.#disconnect();
    throw this.#abort.signal.reason;
  }

  async #disconnect(): Promise<void> {
    const channel = this.#channel;
    const connection = this.#connection;
    this.#channel = undefined;
    this.#connection = undefined;
    // The connection (if it stays: a connector may share it) reaches this RemoteRelay no more: what it granted went
    // with the registration (before, it was routed on as granted until the next attempt).
    if (this.#connectionFlow !== undefined) this.#node.flowControls.removeConsumer(this.address, this.#connectionFlow.flowControlId);
    this.#connectionFlow = undefined;
    this.#over = undefined;
    this.#next = undefined;
    if (channel && !channel.isClosed) await channel.close({ timeoutMs: 1_000 }).catch(() => {});
    if (connection?.close) await Promise.resolve(connection.close()).catch(() => {});
  }
}

/**
 * Failures that trying again cannot mend: the relay service refused the registration, our own
 * trust policy refused the relay node's identity (a pinned identifier that does not match is a
 * configuration to fix, not a node still starting), what listens there is no Hopwire node
 * (its first byte is no protocol version we speak), or an option was refused (by the
 * connector, say: it would be refused again, a connection each time, for ever with
 * retryUntilRegistered). All but the first may be causes of the error, a few levels down.
 */
function isRefusal(error: unknown): boolean {
  if (Object.values(REFUSAL_ERRORS).some((cls) => error instanceof cls)) return true;
  let e: unknown = error;
  for (let depth = 0; depth < 6 && e instanceof Error; depth++) {
    if (e instanceof UntrustedIdentityError || e instanceof TcpProtocolVersionError || e instanceof InvalidOptionError) return true;
    e = e.cause;
  }
  return false;
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  return waitFor<void>((resolve) => (timer = setTimeout(resolve, ms)), { what: "waiting", signal, cleanup: () => clearTimeout(timer) });
}

/** Every key of RemoteRelayOptions (the type makes this list complete). */
const REMOTE_RELAY_OPTIONS = optionKeys<RemoteRelayOptions>({
  name: true,
  identity: true,
  connect: true,
  listener: true,
  service: true,
  trust: true,
  heartbeatIntervalMs: true,
  replyTimeoutMs: true,
  handshakeTimeoutMs: true,
  backoff: true,
  retryUntilRegistered: true,
  onEvent: true,
  forwardOver: true,
});

function checkOptions(options: RemoteRelayOptions): void {
  if (!isOptionsObject(options)) throw notAnOptionsObjectError("remote relay options must be an object", options);
  // Before anything else: a misspelt key (handshakeTimeout for handshakeTimeoutMs) was ignored.
  checkOptionKeys(options, REMOTE_RELAY_OPTIONS, "remote relay options");
  if (!isRelayName(options.name)) {
    const name = options.name as unknown;
    throw new RelayNameInvalidError(
      typeof name === "string"
        ? `Invalid relay name ${describeValue(name)}: 1 to 64 letters, digits, '_', '-' or '.'`
        : `Invalid relay name: got ${describeValue(name)}, not a string of 1 to 64 letters, digits, '_', '-' or '.'`,
    );
  }
  if (typeof options.connect !== "function") throw new InvalidOptionError("options.connect must be a function that opens a RelayConnection", { option: "connect" });
  // Now, not at the first handshake (which retryUntilRegistered would retry).
  assertIdentity(options.identity, { what: "createRemoteRelay", argument: "options.identity" });
  // Now as well: it failed inside each attempt, after the connection was opened.
  if (options.trust !== undefined && typeof options.trust !== "function") {
    const hint = isIdentifier(options.trust) ? `; pass trustIdentifier(${JSON.stringify(options.trust)})` : "";
    throw new InvalidOptionError(
      `remote relay options: trust must be a trust policy, a function such as trustIdentifier("I…") or trustEveryone(); got ${describeValue(options.trust)}${hint}`,
      { option: "trust" },
    );
  }
  for (const key of ["heartbeatIntervalMs", "replyTimeoutMs", "handshakeTimeoutMs"] as const) {
    // Timers' delays: Infinity (or past MAX_TIMEOUT_MS) would fire at once.
    if (options[key] !== undefined) checkTimeoutOption(options[key], key, "remote relay options", { infinity: false });
  }
  if (options.retryUntilRegistered !== undefined && typeof options.retryUntilRegistered !== "boolean") {
    throw new InvalidOptionError(`options.retryUntilRegistered must be a boolean, got ${typeof options.retryUntilRegistered}`, { option: "retryUntilRegistered" });
  }
  if (options.onEvent !== undefined && typeof options.onEvent !== "function") {
    throw new InvalidOptionError(`options.onEvent must be a function, got ${typeof options.onEvent}`, { option: "onEvent" });
  }
  if (options.forwardOver !== undefined && options.forwardOver !== "channel" && options.forwardOver !== "connection") {
    throw new InvalidOptionError(`options.forwardOver must be "channel" or "connection", got ${describeValue(options.forwardOver)}`, { option: "forwardOver" });
  }
  checkBackoff(options.backoff);
}

/**
 * What a connector resolved to, if it is a RelayConnection (an object with a `route`): one that
 * resolved to nothing failed later with "Cannot read properties of undefined (reading 'route')".
 * An InvalidOptionError, so the attempt is not retried: the connector would do the same again.
 */
function checkedConnection(connection: unknown): RelayConnection {
  if (typeof connection === "object" && connection !== null && (connection as Partial<RelayConnection>).route !== undefined) return connection as RelayConnection;
  throw new InvalidOptionError(`options.connect resolved to ${describeValue(connection)}, expected a RelayConnection such as { route: connection }`, { option: "connect" });
}
