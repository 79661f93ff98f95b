import { Address } from "../address/address.js";
import { Inbox } from "../context/inbox.js";
import type { NodeEvents } from "../diagnostics/node-events.js";
import { MainContext } from "../context/main-context.js";
import type { FlowControls } from "../flow-control/flow-controls.js";
import type { Logger } from "../logging/logger.js";
import type { Router } from "../router/router.js";
import { WorkerLoadError } from "../errors/errors.js";
import { isImportingWorkerModule } from "../placement/load-class.js";
import { PoolPlacement } from "../placement/pool-placement.js";
import { ThreadPlacement } from "../placement/thread-placement.js";
import { NodeCore, registerPlacement } from "./node-core.js";
import { resolveNodeOptions, type NodeOptions } from "./node-options.js";
import { isBusyPolling } from "./busy-poll.js";

/**
 * A Hopwire node: the router and transports on this (main) thread, workers on their own
 * threads or pool slots. The node is itself a context with the address "app".
 */
export class Node extends MainContext {
  readonly #core: NodeCore;
  readonly #inbox: Inbox;

  /** @internal use `node()` */
  constructor(core: NodeCore, inbox: Inbox) {
    super(core, inbox.address, inbox);
    this.#core = core;
    this.#inbox = inbox;
  }

  /** Who may receive messages that arrive from the network (see FlowControls). */
  override get flowControls(): FlowControls {
    return this.#core.flowControls;
  }

  /** The node's router: for transports and channels that plug into the node. */
  get router(): Router {
    return this.#core.router;
  }

  override get log(): Logger {
    return this.#core.log;
  }

  get stopped(): boolean {
    return this.#core.stopped;
  }

  /**
   * A function to call (not a listener to register) after handing work on: the node's own
   * TCP connections call it after each socket write, its thread and pool placements after
   * each batch, its portals after writing to an application's socket; a transport of your own
   * calls it after a write. It keeps this thread's event loop polling instead of sleeping for
   * NodeOptions.busyPollMicros, so that the answer is handled without a wake-up. Undefined
   * when busy polling is off (the default), so callers skip the call altogether; a no-op once
   * the node has stopped.
   */
  get afterHandOff(): (() => void) | undefined {
    return this.#core.busyPoll.afterHandOff;
  }

  /** NodeOptions.busyPollMicros as this node resolved it (0: off). */
  get busyPollMicros(): number {
    return this.#core.busyPoll.micros;
  }

  /**
   * Whether the event loop of the thread this node runs on is being kept polling right now:
   * by this node, or by another node of the same thread (the loop is the thread's).
   */
  get busyPolling(): boolean {
    return isBusyPolling();
  }

  /**
   * Listens to a node event, raised on the main thread wherever the worker concerned runs:
   * - `"denied"`: flow controls dropped a message from the network (DeniedEvent: the
   *   address, the flow control id to `addConsumer`);
   * - `"dropped"`: a message whose sender cannot be told had no next hop (DroppedEvent);
   * - `"handler-error"`: a worker's `handleMessage`, `process` or `shutdown` threw, or a pool
   *   slot ended under a task of the worker (HandlerErrorEvent);
   * - `"worker-failed"`: a worker's thread ended while the node ran, and the worker is gone (WorkerFailedEvent);
   * - `"refused"`: a listener refused a peer, e.g. a secure channel listener an untrusted
   *   identity (RefusedEvent: the listener, the peer's identifier, the reason's code).
   * A listener that throws is ignored. See also `NodeOptions.warnings`.
   */
  on<K extends keyof NodeEvents>(event: K, listener: (...args: NodeEvents[K]) => void): this {
    this.#core.diagnostics.listen("on", event, listener);
    return this;
  }

  /** Like `on`, for the next occurrence only. */
  once<K extends keyof NodeEvents>(event: K, listener: (...args: NodeEvents[K]) => void): this {
    this.#core.diagnostics.listen("once", event, listener);
    return this;
  }

  /** Removes a listener added with `on` or `once`. */
  off<K extends keyof NodeEvents>(event: K, listener: (...args: NodeEvents[K]) => void): this {
    this.#core.diagnostics.listen("off", event, listener);
    return this;
  }

  /**
   * Runs `hook` when the node stops, before its workers stop (the last registered first). A
   * hook registered while the node stops, or after, runs at once (on a later microtask), and a
   * stop still in progress waits for it. Returns a function that removes the hook: call it when what the hook stops is stopped
   * first (the node otherwise holds the hook, and all it references, until it stops).
   */
  onStop(hook: () => Promise<void> | void): () => void {
    return this.#core.onStop(hook);
  }

  /**
   * Lets a service that makes the addresses under `prefix` (a relay service's `forward_to_`)
   * say why one is missing, in the warning for a message dropped there, in place of the
   * advice to start a worker under it. Returns a remover (call it when the service stops).
   */
  explainMissing(prefix: string, explain: (address: string) => string): () => void {
    return this.#core.diagnostics.explainMissing(prefix, explain);
  }

  /** @internal How many stop hooks the node holds now (tests: a stopped object left none behind). */
  get stopHookCount(): number {
    return this.#core.stopHookCount;
  }

  override async stop(): Promise<void> {
    await this.#core.stop();
    this.#inbox.close();
  }
}

registerPlacement("thread", (core) => new ThreadPlacement(core));
registerPlacement("pool", (core) => new PoolPlacement(core));

/** Creates and starts a node. */
export async function node(options?: NodeOptions): Promise<Node> {
  if (isImportingWorkerModule()) {
    // The module of a worker class is imported again in the worker's thread: if it is also
    // the program, every thread would start a node, which starts threads, for ever.
    throw new WorkerLoadError(
      "node() was called while a worker thread was importing its worker's module: that module is also a program that starts a node. " +
        "Put the worker class in a module of its own (exported, with `static readonly module = import.meta.url`) and import it " +
        'from the program, or start the worker with { placement: "main" }.',
    );
  }
  const resolved = resolveNodeOptions(options);
  const core = new NodeCore(resolved, (c, address) => new MainContext(c, address));
  const address = new Address(0, "app");
  const inbox = new Inbox(address, false, (messages, dropped) => core.diagnostics.inboxBacklog(address, messages, dropped));
  core.router.register([inbox.address], inbox);
  return new Node(core, inbox);
}
