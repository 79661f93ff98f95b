import { Address, toAddress, type AddressLike } from "../address/address.js";
import type { Context } from "../context/context.js";
import { Diagnostics } from "../diagnostics/diagnostics.js";
import { DuplicateAddressError, InvalidAddressError, InvalidOptionError, NodeStoppedError, UnknownAddressError, WorkerHandlerError, WorkerLoadError } from "../errors/errors.js";
import { FlowControls } from "../flow-control/flow-controls.js";
import { checkStartWorkerOptions } from "../worker/start-worker-options.js";
import { createLogger, type Logger } from "../logging/logger.js";
import { MainProcessorHost } from "../placement/main-processor-host.js";
import { MainWorkerHost } from "../placement/main-worker-host.js";
import { replyKeyOf } from "../placement/runners.js";
import type { LocalMessage } from "../message/local-message.js";
import type { OffThreadPlacement } from "../placement/off-thread-placement.js";
import type { WorkerHandle } from "../placement/worker-handle.js";
import { resolveMailboxLimits, type ResolvedMailboxLimits } from "../router/mailbox-bound.js";
import { Router } from "../router/router.js";
import { Deadlines } from "../util/deadlines.js";
import { isWorkerClass, type Placement, type Processor, type StartWorkerOptions, type Worker, type WorkerClass } from "../worker/worker.js";
import type { ResolvedNodeOptions } from "./node-options.js";
import { BusyPoll } from "./busy-poll.js";
import { describeType } from "../util/describe-type.js";

type PlacementFactory = (core: NodeCore) => OffThreadPlacement;
const placementFactories = new Map<"thread" | "pool", PlacementFactory>();

/** Lets the thread and pool placements plug in without an import cycle. */
export function registerPlacement(kind: "thread" | "pool", factory: PlacementFactory): void {
  placementFactories.set(kind, factory);
}

/**
 * The state of one node that every context shares: router, flow controls, logger, and the
 * table of started workers with their placements.
 */
export class NodeCore {
  readonly flowControls = new FlowControls();
  readonly router = new Router(this.flowControls);
  readonly log: Logger;
  /** The timeouts of the node's sendAndReceive calls on its main thread (one timer for all). */
  readonly deadlines = new Deadlines();
  /** Node events and warnings about what the node dropped (failure paths only). */
  readonly diagnostics: Diagnostics;
  /** NodeOptions.busyPollMicros: what hands work on (thread and pool placements, transports) calls. */
  readonly busyPoll: BusyPoll;
  readonly #handles = new Map<string, WorkerHandle>();
  /** Stops in progress by `stopWorker`, under each address of the worker. */
  readonly #workerStops = new Map<string, Promise<void>>();
  /** Starts in progress, under each address of the worker: settled (never rejected) once the start is over. */
  readonly #starts = new Map<string, Promise<void>>();
  readonly #order: WorkerHandle[] = [];
  readonly #placements = new Map<"thread" | "pool", OffThreadPlacement>();
  /** A Set, so that a hook's own removal (its object stopped first) costs no scan: one entry per registration. */
  readonly #stopHooks = new Set<{ readonly hook: () => Promise<void> | void }>();
  /** Set once the stop has run its hooks: a hook registered from then on runs at once. */
  #hooksDone = false;
  /** Hooks that ran late while the stop was still in progress: the stop waits for them too. */
  readonly #lateHooks: Promise<void>[] = [];
  /** Set once the stop finished. */
  #stopped = false;
  #stopping: Promise<void> | undefined;

  constructor(
    readonly options: ResolvedNodeOptions,
    readonly contextFor: (core: NodeCore, address: Address) => Context,
  ) {
    this.log = options.logger ?? createLogger("hopwire", options.name ? { prefix: options.name } : {});
    this.diagnostics = new Diagnostics(this.flowControls, options.warnings, options.name);
    this.router.setReporter(this.diagnostics);
    this.busyPoll = new BusyPoll(options.busyPollMicros);
  }

  /**
   * Reports an error a worker's own code threw, wherever it runs (the worker keeps running).
   * When the message it was handling came from a sendAndReceive of this node's main thread
   * (`replyTo` is that call's reply address, or several: a pool task's lanes), the call fails now with the handler's error:
   * the worker will not reply, and waiting for the timeout would only hide why.
   */
  reportHandlerError(worker: Address, what: string, error: Error, replyTo?: string | readonly string[]): void {
    this.diagnostics.handlerError(worker, what, error);
    if (replyTo === undefined) return;
    const failure = error instanceof WorkerHandlerError ? error : WorkerHandlerError.wrapping(error);
    // The call may wait on the main thread (a PendingReply) or on a worker's thread (its host holds the address).
    for (const key of typeof replyTo === "string" ? [replyTo] : replyTo) this.router.localMailbox(key)?.failRequest?.(key, failure);
  }

  /** A worker's stop outlasted NodeOptions.shutdownTimeout and was given up on (`outcome`): the node's "shutdown-timeout" warning. */
  shutdownOverran(worker: Address, outcome: string): void {
    this.diagnostics.shutdownOverran(worker, this.options.shutdownTimeout, outcome);
  }

  get stopped(): boolean {
    return this.#stopping !== undefined;
  }

  assertRunning(): void {
    if (this.#stopping) throw new NodeStoppedError();
  }

  /**
   * Runs `hook` when the node stops, before its workers stop (transports close sockets here);
   * registered during or after the stop, it runs at once (on a later microtask). Returns a function that removes it: what registers a hook and may stop before the node
   * (a listener, an outlet, a relay) calls it from its own stop, or the node would hold it, and
   * all it references, until the node stops.
   */
  onStop(hook: () => Promise<void> | void): () => void {
    // Too late to run in order: what it stops must still stop, or it would run past the node.
    // Run on a later microtask, so that whoever registers it (often from a constructor) has finished first.
    if (this.#hooksDone) {
      const late = Promise.resolve().then(() => this.#runHook(hook));
      if (!this.#stopped) this.#lateHooks.push(late);
      return () => {};
    }
    const entry = { hook };
    this.#stopHooks.add(entry);
    return () => void this.#stopHooks.delete(entry);
  }

  /** @internal How many stop hooks the node holds now (tests: a stopped object left none behind). */
  get stopHookCount(): number {
    return this.#stopHooks.size;
  }

  async startWorker(
    addressOrAddresses: AddressLike | AddressLike[],
    worker: WorkerClass | Worker | Processor,
    options: StartWorkerOptions = {},
    kind: "worker" | "processor",
  ): Promise<void> {
    this.assertRunning();
    checkStartWorkerOptions(options);
    const addresses = toAddresses(addressOrAddresses, options.aliases);
    const placement = resolvePlacement(worker, options.placement, kind, addresses[0]!);
    // The mailbox limits are checked here, once, where they are resolved (a thread's request carries them here whole).
    const mailbox = resolveMailboxLimits(options.mailbox, this.options.mailbox, "mailbox");
    for (const a of addresses) {
      if (this.router.has(a)) throw new DuplicateAddressError(`Address ${a.toString()} is already in use`);
    }
    const started = this.#launch(addresses, worker, placement, options.args ?? [], kind, mailbox);
    // Known as starting meanwhile, so that a stopWorker waits for it rather than miss it.
    const over = started.then(
      () => {},
      () => {},
    );
    for (const a of addresses) this.#starts.set(a.key, over);
    try {
      await started;
    } finally {
      for (const a of addresses) if (this.#starts.get(a.key) === over) this.#starts.delete(a.key);
    }
  }

  /** Starts the worker (its placement, then its handle kept under its addresses); startWorker's second half. */
  async #launch(
    addresses: readonly Address[],
    worker: WorkerClass | Worker | Processor,
    placement: Placement,
    args: readonly unknown[],
    kind: "worker" | "processor",
    mailbox: ResolvedMailboxLimits,
  ): Promise<void> {
    let handle: WorkerHandle;
    try {
      handle =
        placement === "main"
          ? await this.#startOnMain(addresses, worker, args, kind, mailbox)
          : await this.#placement(placement).start({ addresses, workerClass: worker as WorkerClass, args, kind, mailbox });
    } catch (error) {
      // A stop that began meanwhile may have failed the start itself (piscina's "Terminating worker
      // thread" when the pool is destroyed): the caller learns the node stopped, as when it wins the race.
      if (this.#stopping && !(error instanceof NodeStoppedError)) {
        throw new NodeStoppedError(`The node began to stop while ${addresses[0]!.toString()} was starting`, { cause: error });
      }
      throw error;
    }
    if (this.#stopping) {
      // The node began to stop while this worker started: its stop has passed the workers
      // it knew of, so this one is stopped here, and the caller told it did not start.
      await handle.stop(new NodeStoppedError()).catch(() => {});
      throw new NodeStoppedError(`The node began to stop while ${addresses[0]!.toString()} was starting`);
    }
    for (const a of addresses) this.#handles.set(a.key, handle);
    this.#order.push(handle);
    this.log.debug(`started ${kind} ${addresses[0]!.toString()} (${placement})`);
  }

  async #startOnMain(
    addresses: readonly Address[],
    worker: WorkerClass | Worker | Processor,
    args: readonly unknown[],
    kind: "worker" | "processor",
    mailbox: ResolvedMailboxLimits,
  ): Promise<WorkerHandle> {
    const instance = isWorkerClass(worker) ? new worker(...args) : worker;
    const context = this.contextFor(this, addresses[0]!);
    if (kind === "processor") {
      if (typeof (instance as Processor).process !== "function") {
        throw new WorkerLoadError(`Processor for ${addresses[0]!.toString()} has no process method`);
      }
      const onError = (what: string, error: unknown): void => this.reportHandlerError(addresses[0]!, what, asError(error));
      const host = new MainProcessorHost(addresses, instance as Processor, context, this.log, (h) => this.#forget(h), this.options.shutdownTimeout, onError, (outcome) => this.shutdownOverran(addresses[0]!, outcome));
      await host.start();
      return host;
    }
    if (typeof (instance as Worker).handleMessage !== "function") {
      throw new WorkerLoadError(`Worker for ${addresses[0]!.toString()} has no handleMessage method`);
    }
    // Wrapped as a thread or a pool slot wraps it, so that "handler-error" reads the same on every placement.
    const onError = (what: string, error: unknown, message?: LocalMessage): void =>
      this.reportHandlerError(addresses[0]!, what, what === "handleMessage" ? WorkerHandlerError.wrapping(error) : asError(error), replyKeyOf(message));
    const host = new MainWorkerHost(addresses, instance as Worker, context, this.log, (h, reason) => this.#forget(h, reason), mailbox, this.options.shutdownTimeout, onError, (outcome) =>
      this.shutdownOverran(addresses[0]!, outcome),
    );
    this.router.register(addresses, host);
    try {
      await host.initialize();
    } catch (error) {
      this.router.unregister(addresses);
      throw new WorkerLoadError(`Worker ${addresses[0]!.toString()} failed to initialize`, { cause: error });
    }
    return host;
  }

  #placement(kind: "thread" | "pool"): OffThreadPlacement {
    let placement = this.#placements.get(kind);
    if (!placement) {
      const factory = placementFactories.get(kind);
      if (!factory) throw new WorkerLoadError(`The "${kind}" placement is not available`);
      placement = factory(this);
      this.#placements.set(kind, placement);
    }
    return placement;
  }

  /** Called by a handle as it stops: its addresses leave the router at once. */
  #forget(handle: WorkerHandle, reason?: Error): void {
    this.router.unregister(handle.addresses, reason);
    for (const a of handle.addresses) if (this.#handles.get(a.key) === handle) this.#handles.delete(a.key);
    const i = this.#order.indexOf(handle);
    if (i >= 0) this.#order.splice(i, 1);
  }

  /** For placements: the same bookkeeping as `#forget`, for handles that stop themselves. */
  forget(handle: WorkerHandle, reason?: Error): void {
    this.#forget(handle, reason);
  }

  /** The started worker that holds `address`, if any. */
  handleOf(address: Address): WorkerHandle | undefined {
    return this.#handles.get(address.key);
  }

  /** The stop `stopWorker` began for the worker at `address`, while it is in progress. */
  stopInProgress(address: Address): Promise<void> | undefined {
    return this.#workerStops.get(address.key);
  }

  async stopWorker(address: AddressLike, reason?: Error): Promise<void> {
    const key = toAddress(address).key;
    // A worker forgets its addresses as its stop begins: a second call meanwhile waits for the same stop.
    const inProgress = this.#workerStops.get(key);
    if (inProgress) return inProgress;
    const handle = this.#handles.get(key);
    if (!handle) {
      // Still starting (a thread worker's addresses take messages meanwhile): stopped once started.
      const starting = this.#starts.get(key);
      if (starting) return starting.then(() => this.stopWorker(address, reason));
      throw new UnknownAddressError(`No worker has the address ${toAddress(address).toString()}`);
    }
    const stopping = handle.stop(reason).finally(() => {
      for (const a of handle.addresses) if (this.#workerStops.get(a.key) === stopping) this.#workerStops.delete(a.key);
    });
    for (const a of handle.addresses) this.#workerStops.set(a.key, stopping);
    return stopping;
  }

  stop(): Promise<void> {
    // Stopped once it ends, whichever way: a hook registered then runs at once and is waited for by nobody.
    this.#stopping ??= this.#stopAll().finally(() => (this.#stopped = true));
    return this.#stopping;
  }

  async #stopAll(): Promise<void> {
    const reason = new NodeStoppedError();
    this.diagnostics.nodeStopping();
    // A hook may register another (an object it stops registers one as it closes): that one runs in the next round.
    while (this.#stopHooks.size > 0) {
      const hooks = [...this.#stopHooks].reverse();
      this.#stopHooks.clear();
      for (const { hook } of hooks) await this.#runHook(hook);
    }
    this.#hooksDone = true;
    // One after another, the last started first: a shutdown may still send to the workers
    // started before it. The time a handler hung meanwhile counts against its own
    // shutdownTimeout (stopsWithin): hung workers do not add up.
    const stopBegan = Date.now();
    // One that fails does not keep the others (or the pool and threads) running.
    for (const handle of this.#order.slice().reverse()) {
      try {
        await handle.stop(reason, stopBegan);
      } catch (error) {
        this.log.warn(`stopping ${handle.addresses[0]?.toString() ?? "a worker"} failed`, error);
      }
    }
    for (const placement of this.#placements.values()) {
      try {
        await placement.close();
      } catch (error) {
        this.log.warn("closing a placement failed", error);
      }
    }
    this.#placements.clear();
    this.busyPoll.stop();
    // A late hook may register another: wait until none is left.
    while (this.#lateHooks.length > 0) await Promise.all(this.#lateHooks.splice(0));
    this.log.debug("node stopped");
  }

  async #runHook(hook: () => Promise<void> | void): Promise<void> {
    try {
      await hook();
    } catch (error) {
      this.log.warn("a stop hook failed", error);
    }
  }
}

function asError(value: unknown): Error {
  return value instanceof Error ? value : new Error(`a non-Error value was thrown (${typeof value})`);
}

function toAddresses(addressOrAddresses: AddressLike | AddressLike[], aliases: AddressLike[] = []): Address[] {
  const list = Array.isArray(addressOrAddresses) ? addressOrAddresses : [addressOrAddresses];
  const addresses = [...list, ...aliases].map(toAddress);
  if (addresses.length === 0) throw new InvalidOptionError("A worker needs at least one address");
  for (const address of addresses) {
    // Such a worker could be reached only through an Address object: every route string splits there.
    if (address.value.includes("=>")) {
      throw new InvalidAddressError(`A worker's address cannot contain "=>", which separates the hops of a route: got "${address.value}"`);
    }
  }
  return addresses;
}

/**
 * Which placement `worker` gets (the value itself was checked with the other options,
 * checkStartWorkerOptions). An instance that is no worker at all is refused for that first,
 * before any advice about where an instance may run.
 */
function resolvePlacement(worker: unknown, placement: Placement | undefined, kind: "worker" | "processor", address: Address): Placement {
  if (!isWorkerClass(worker)) {
    if (worker === null || typeof worker !== "object") {
      throw new InvalidOptionError(`${kind} must be a ${kind} class or instance, got ${describeType(worker)}`, { option: kind });
    }
    if (kind === "worker" && typeof (worker as Partial<Worker>).handleMessage !== "function") {
      throw new WorkerLoadError(`Worker for ${address.toString()} has no handleMessage method`);
    }
    if (kind === "processor" && typeof (worker as Partial<Processor>).process !== "function") {
      throw new WorkerLoadError(`Processor for ${address.toString()} has no process method`);
    }
    if (placement !== undefined && placement !== "main") {
      throw new InvalidOptionError(`A ${kind} instance can only run on the main thread; pass its class for placement "${placement}"`, { option: "placement" });
    }
    if (placement === undefined) {
      throw new InvalidOptionError(`A ${kind} instance runs on the main thread only when asked: pass { placement: "main" }, or pass its class`, { option: "placement" });
    }
    return "main";
  }
  return placement ?? "thread";
}
