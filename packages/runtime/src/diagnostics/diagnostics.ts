import { EventEmitter } from "node:events";
import type { Address } from "../address/address.js";
import type { FlowControls } from "../flow-control/flow-controls.js";
import type { DeniedEvent, DroppedEvent, DropReason, HandlerErrorEvent, NodeEvents, RefusedEvent, WorkerFailedEvent } from "./node-events.js";
import { RateLimitedWarnings, type WarningSink } from "./warnings.js";
import { clipForLog } from "../util/log-text.js";
import { InvalidOptionError } from "../errors/errors.js";
import { describeValue } from "../util/describe-type.js";
import { isRandomHex32 } from "../util/random-hex.js";
import { INBOX_MAX_BYTES, INBOX_MAX_MESSAGES } from "../context/inbox.js";


/** Every event a node raises: a record, so that the compiler fails here when NodeEvents gains one. */
const NODE_EVENTS: Record<keyof NodeEvents, true> = { denied: true, dropped: true, "handler-error": true, "worker-failed": true, refused: true };
const NODE_EVENT_NAMES = Object.keys(NODE_EVENTS) as (keyof NodeEvents)[];

/**
 * What a node tells its user about messages it had to drop, handlers that threw and peers its
 * listeners refused: node
 * events for programs, and one rate-limited warning line per cause for people (stderr by
 * default, `NodeOptions.warnings: false` silences it). Everything here runs only on the
 * failure path: routing that succeeds never calls it. A warning's sink receives, beside the
 * line, the event's fields (NodeWarning), so a caller can word the advice its own way.
 *
 * Never put a payload or a key in an event or a warning: addresses, flow control ids and
 * error messages only.
 */
export class Diagnostics {
  readonly events = new EventEmitter<NodeEvents>();
  readonly #warnings: RateLimitedWarnings | undefined;
  /**
   * Why an address under a prefix is missing, in the words of the services that make such
   * addresses (explainMissing): the latest registered first, so that two relay services on one
   * node, stopped in any order, leave the right one.
   */
  readonly #explainers: { readonly prefix: string; readonly explain: (address: string) => string }[] = [];
  #nodeStopping = false;

  constructor(
    readonly flowControls: FlowControls,
    warnings: boolean | WarningSink,
    name: string | undefined,
  ) {
    this.#warnings = warnings === false ? undefined : new RateLimitedWarnings(typeof warnings === "function" ? warnings : undefined, name);
    // Any number of listeners is legitimate here (one per test, per component): no leak warning.
    this.events.setMaxListeners(0);
  }

  /**
   * `node.on` / `once` / `off`: a name the node raises and a function, else an
   * InvalidOptionError (`on("denid", …)` was accepted and never fired; a listener that is not
   * a function failed in Node's emitter with its own TypeError).
   */
  listen(how: "on" | "once" | "off", event: unknown, listener: unknown): void {
    if (typeof event !== "string" || !NODE_EVENT_NAMES.includes(event as keyof NodeEvents)) {
      throw new InvalidOptionError(`node.${how}: the event must be one of ${NODE_EVENT_NAMES.map((n) => `"${n}"`).join(", ")}, got ${describeValue(event)}`, { option: "event" });
    }
    if (typeof listener !== "function") {
      throw new InvalidOptionError(`node.${how}("${event}", listener): the listener must be a function, got ${describeValue(listener)}`, { option: "listener" });
    }
    this.events[how](event as keyof NodeEvents, listener as never); // the generic emitter cannot see which key
  }

  /** A message from producer `senderKey` to `destination` was denied by flow controls. */
  denied(destination: Address, senderKey: string): void {
    const producer = this.flowControls.producerByKey(senderKey);
    if (!producer) return;
    const flowControlId = producer.spawnerFlowControlId ?? producer.flowControlId;
    const address = destination.key; // as users write it: "echoer", "1#host:port"
    const from = senderKey;
    const event: DeniedEvent = { address, from, flowControlId, producerFlowControlId: producer.flowControlId };
    this.#emit("denied", event);
    // The address came from the network: cut short in the cause's key and in the line (escaped there).
    const shown = clipForLog(address);
    this.#warnings?.warn(`denied\u0000${shown}\u0000${flowControlId}`, () => {
      const came = new Set([producer.flowControlId, ...(producer.spawnerFlowControlId === undefined ? [] : [producer.spawnerFlowControlId])]);
      const through = this.#listenersAround(destination.key, came);
      const fix =
        through.length === 0
          ? `If "${shown}" should be reachable from there, call flowControls.addConsumer("${shown}", ${flowControlId}) — ${this.#whoseFlow(producer.spawnerFlowControlId)}.`
          : // Adding the consumer would open a path around what the program put in front of it (a secure channel listener's trust and encryption).
            `"${shown}" is reachable only through ${through.map((l) => `"${l}"`).join(", ")}: the sender went around ${through.length === 1 ? "it" : "them"} ` +
            `(e.g. straight over TCP, without the secure channel). Adding a consumer for flow ${flowControlId} would let such senders in; do it only if "${shown}" should take messages that way.`;
      const body = `dropped a message from the network for "${shown}": flow controls do not let flow ${flowControlId} reach it (it came from ${from}). ${fix} The sender is not told; it sees a timeout.`;
      return { kind: "denied", ...event, body };
    });
  }

  /**
   * The listeners (by address, when a program chose it) that lead to `key` and that themselves
   * take a flow of `came` (the denied message's producer's, or its spawner's), directly or
   * through listeners in front of them: the sender went around them (to `key`
   * straight over the TCP connection a secure channel listener would have taken). A sender that
   * came through another listener of its own (another secure channel listener) went around
   * nothing: the plain advice, to make `key` a consumer of that listener's flow, holds.
   */
  #listenersAround(key: string, came: ReadonlySet<string>): string[] {
    const named: string[] = [];
    for (const consumed of this.flowControls.consumedFlowsOf(key)) {
      const spawner = this.flowControls.spawnerKeyOf(consumed);
      if (spawner === undefined || isRandomHex32(spawner)) continue;
      if (this.#takes(spawner, came, new Set())) named.push(spawner);
    }
    return named;
  }

  /** Whether the listener at `key` takes one of the flows `came`, itself or through listeners in front of it (nested). */
  #takes(key: string, came: ReadonlySet<string>, seen: Set<string>): boolean {
    if (seen.has(key)) return false;
    seen.add(key);
    for (const consumed of this.flowControls.consumedFlowsOf(key)) {
      if (came.has(consumed)) return true;
      const spawner = this.flowControls.spawnerKeyOf(consumed);
      if (spawner !== undefined && this.#takes(spawner, came, seen)) return true;
    }
    return false;
  }

  /**
   * Whose flow control id the fix names: the listener that accepted the connection or channel
   * (by its address when the user chose it, e.g. a secure channel listener "api", so that its
   * id is not confused with the TCP listener's), else the connection's or channel's own.
   */
  #whoseFlow(spawnerFlowControlId: string | undefined): string {
    if (spawnerFlowControlId === undefined) return "the id of the connection or channel it came through (its flowControlId)";
    const spawner = this.flowControls.spawnerKeyOf(spawnerFlowControlId);
    if (spawner !== undefined && !isRandomHex32(spawner)) return `the flowControlId of the listener "${spawner}" that accepted it`;
    return "the id of the listener that accepted it, e.g. listener.flowControlId";
  }

  /**
   * Lets a service that makes the addresses under `prefix` say why one is missing, in place of
   * "start it (node.startWorker(...))" (a relay service: nobody holds the name). Returns a remover.
   */
  explainMissing(prefix: string, explain: (address: string) => string): () => void {
    const entry = { prefix, explain };
    this.#explainers.push(entry);
    return () => {
      const i = this.#explainers.indexOf(entry);
      if (i >= 0) this.#explainers.splice(i, 1);
    };
  }

  #explained(address: string): string | undefined {
    for (let i = this.#explainers.length - 1; i >= 0; i--) {
      const { prefix, explain } = this.#explainers[i]!;
      if (!address.startsWith(prefix)) continue;
      try {
        return explain(address);
      } catch {
        return undefined; // the runtime's own words then: a warning must not throw into the drop path
      }
    }
    return undefined;
  }

  /** The node began to stop: drops are still raised as events, but warn no more. */
  nodeStopping(): void {
    this.#nodeStopping = true;
  }

  /** A message routed by `fromKey`, who cannot be told, could not reach `next` (`gone`: why `next` went away, if known). */
  dropped(next: Address, fromKey: string, reason: DropReason, error: Error, gone?: string): void {
    const address = next.key;
    const from = fromKey;
    const event: DroppedEvent = gone === undefined ? { address, from, reason, error } : { address, from, reason, error, gone };
    this.#emit("dropped", event);
    // While the node stops, its workers go one by one: what still reaches a stopped one (a
    // pool task's reply, a relay's last message) is the stop itself, not a mistake to fix.
    if (this.#nodeStopping) return;
    // Generated addresses (replies, streams, channel ends) share one cause per reason: each is
    // new, so keyed by address they would warn once apiece and the once-a-minute limit would not hold.
    const generated = isRandomHex32(address);
    const shown = clipForLog(address); // as in denied()
    this.#warnings?.warn(`dropped\u0000${generated ? "(generated)" : shown}\u0000${reason}`, () => {
      const why =
        reason === "unknown-address"
          ? gone !== undefined
            ? // A connection, a channel, a worker that was there: saying why beats guessing.
              `"${shown}" went away (${gone}) and nothing has its address now`
            : generated
            ? `no worker has the address "${shown}" on this node (a generated address: likely a reply that came after its request timed out or was aborted)`
            : (this.#explained(shown) ?? `no worker has the address "${shown}" on this node: start it (node.startWorker("${shown}", ...)) or fix the route the sender used`)
          : reason === "unknown-transport"
            ? `no transport handles "${shown}": create it (e.g. createTcpTransport(node)) or fix the route`
            : reason === "full"
              ? `${error.message} ({ ifFull: "drop" }): its reader is slower than its senders, or withholds credit`
              : `${error.name}: ${error.message}`;
      // An undeliverable message may be a local one whose send resolved (a relay's, a queued dial's): its request, if any, may fail at once.
      const told =
        reason === "full"
          ? "The send had resolved, as such a send does: it was the sender's choice."
          : reason === "undeliverable"
          ? "A send that had resolved is not told of it; a request (sendAndReceive) fails at its timeout, or at once if its own first hop went away (a dial that failed)."
          : // The sender may be local (a thread worker's send to a granted address had resolved): "it sees a timeout" was wrong for it.
            "The sender is not told: a send had resolved already, and a request (sendAndReceive) fails at its timeout.";
      const body = `dropped a message from ${from} for "${shown}": ${why}. ${told}`;
      return { kind: "dropped", ...event, generated, body };
    });
  }

  /**
   * A worker's `what` ("handleMessage", "process", "shutdown") threw `error`. While the node
   * stops, handlers fail for that reason alone: the event is raised, no warning written.
   */
  handlerError(worker: Address, what: string, error: Error): void {
    const address = worker.key;
    const inner = error.cause instanceof Error && error.name === "WorkerHandlerError" ? error.cause : error;
    // A handler that failed because the node is stopping under it (its send refused with
    // NodeStoppedError) is the stop, not the worker's fault: a user trial counted 293 such
    // events in one clean stop of a dispatcher with messages queued, each an alert.
    if (this.#nodeStopping && inner.name === "NodeStoppedError") return;
    const event: HandlerErrorEvent = { worker: address, what, error };
    this.#emit("handler-error", event);
    if (this.#nodeStopping) return;
    this.#warnings?.warn(`handler\u0000${worker.key}\u0000${what}`, () => {
      const code = (inner as { code?: unknown }).code; // "ERROR": a plain Error rebuilt from another thread
      const consequence = what === "handleMessage" ? " The message was dropped: a sendAndReceive on this node that sent it fails with WorkerHandlerError, any other sender gets no reply; the worker keeps running." : "";
      const body = `worker "${address}" threw in ${what}: ${inner.name}${typeof code === "string" && code !== "ERROR" ? `[${code}]` : ""}: ${inner.message}.${consequence}`;
      return { kind: "handler-error", ...event, body };
    });
  }

  /**
   * A worker's thread ended while the node ran (`error`: why). The worker is gone, so unlike
   * a handler error this is not the worker's to recover from; the line says what usually
   * causes it. While the node stops, threads end for that reason alone: nothing is raised.
   */
  workerFailed(worker: Address, error: Error): void {
    if (this.#nodeStopping) return;
    const address = worker.key;
    const event: WorkerFailedEvent = { worker: address, error };
    this.#emit("worker-failed", event);
    this.#warnings?.warn(`failed\u0000${worker.key}`, () => {
      const code = (error as { code?: unknown }).code;
      const body =
        `worker "${address}" is gone: its thread ended on ${error.name}${typeof code === "string" && code !== "ERROR" ? `[${code}]` : ""}: ${error.message}. ` +
        `An error thrown outside handleMessage (in a timer, an event listener) or a promise rejection nobody handled ` +
        `(a send that was not awaited or caught) ends a worker's thread; messages to "${address}" are now dropped. ` +
        `Await or .catch() the promises a handler starts.`;
      return { kind: "worker-failed", ...event, body };
    });
  }

  /**
   * A listener refused a peer (see RefusedEvent). `why` says it in words for the warning (called
   * only when a line is written). One line per (listener, reason) per interval: a flood of
   * refusals, from as many identities as a peer cares to make, writes one line a minute.
   */
  refused(event: RefusedEvent, why: () => string): void {
    this.#emit("refused", event);
    if (this.#nodeStopping) return;
    this.#warnings?.warn(`refused\u0000${event.listener}\u0000${event.reason}`, () => {
      const who = event.peer ?? `an unauthenticated peer (via ${event.via})`;
      const body = `"${event.listener}" refused ${event.what} from ${who}: ${why()}`;
      return { kind: "refused", ...event, body };
    });
  }

  /**
   * The node's own inbox holds `messages` that no `receive()` took (Inbox's backlog marks), or
   * dropped one at its bounds (`dropped` so far): a program that sends from the node and never
   * receives the replies grew by ≈ 2.6 KB of RSS a 1 KB reply (a user trial, session 44)
   * without a word; since session 56 the inbox drops past INBOX_MAX_MESSAGES or INBOX_MAX_BYTES.
   */
  inboxBacklog(inbox: Address, messages: number, dropped = 0): void {
    if (this.#nodeStopping) return;
    const address = inbox.key;
    // Drops have a line of their own: the backlog's marks, written just before, must not hold back the first drop's.
    this.#warnings?.warn(`${dropped === 0 ? "inbox" : "inbox-dropped"}\u0000${address}`, () => {
      const held =
        dropped === 0
          ? `the node's inbox "${address}" holds ${messages} messages that no receive() took`
          : `the node's inbox "${address}" holds ${messages} messages that no receive() took, its bound (${INBOX_MAX_MESSAGES} messages, ` +
            `${INBOX_MAX_BYTES} bytes): ${dropped} dropped so far`;
      const body =
        `${held}: replies to the node's own sends (node.send, node.forward) come here and stay until node.receive() takes them. ` +
        `Receive them, or send from a worker, whose handler gets its replies and whose mailbox is bounded.`;
      return { kind: "inbox-backlog", address, messages, dropped, body };
    });
  }

  /**
   * The node's secure channels hold their whole send-queue budget (MailboxBudget's `onSpent`):
   * from now on each one holding more than its allowance waits. One line per interval.
   */
  sendQueueBudgetSpent(maxBytes: number, channels: number): void {
    if (this.#nodeStopping) return;
    this.#warnings?.warn("send-queue-budget", () => {
      const body =
        `the node's secure channels hold their whole send-queue budget (${maxBytes} bytes, ${channels} channels holding data): ` +
        `each channel holding 16 KiB or more now waits until the queues drain. Peers may be withholding credit, or the node ` +
        `streams to more slow peers than the budget allows for: see sendQueueUse(node), and setSendQueueBudget(node, bytes) to change it.`;
      return { kind: "send-queue-budget", maxBytes, channels, body };
    });
  }

  /**
   * A worker's handler in progress or `shutdown` outlasted `timeoutMs` as it stopped, and the
   * node gave up on it (`outcome`). Said while the node stops too (that is when it happens):
   * without it, `node.stop()` took the whole timeout, 10 s by default, without a word unless
   * DEBUG was set (a user trial).
   */
  shutdownOverran(worker: Address, timeoutMs: number, outcome: string): void {
    const address = worker.key;
    this.#warnings?.warn(`shutdown\u0000${address}`, () => {
      const body =
        `the shutdown of worker "${address}" took more than ${timeoutMs} ms (NodeOptions.shutdownTimeout): ${outcome}. ` +
        `A handler that was still running, or a shutdown() that did not return, held the stop that long.`;
      return { kind: "shutdown-timeout", worker: address, timeoutMs, outcome, body };
    });
  }

  #emit<K extends keyof NodeEvents>(name: K, ...args: NodeEvents[K]): void {
    if (this.events.listenerCount(name) === 0) return;
    try {
      (this.events.emit as (name: K, ...args: NodeEvents[K]) => boolean)(name, ...args);
    } catch {
      // A listener that throws must not break routing or the worker that failed.
    }
  }
}
