import { randomBytes } from "node:crypto";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import type { Piscina } from "piscina";
import type { Address } from "../address/address.js";
import { InvalidOptionError, NodeStoppedError, WorkerHandlerError, WorkerLoadError } from "../errors/errors.js";
import { errorFromData } from "../errors/hopwire-error.js";
import type { Logger } from "../logging/logger.js";
import { LocalMessage, type LocalInfo } from "../message/local-message.js";
import type { Route } from "../route/route.js";
import { bytesBodyLength, lentBytesMessage } from "../codec/body.js";
import type { NodeCore } from "../node/node-core.js";
import type { Mailbox } from "../router/mailbox.js";
import { MailboxBound, type ResolvedMailboxLimits } from "../router/mailbox-bound.js";
import { LocalEnvelopeDecoder, writeEnvelope } from "./envelopes.js";
import { FRAME_ENVELOPE, FRAME_ENVELOPE_DROP_IF_FULL, FRAME_ENVELOPE_SAME_HEAD, FRAME_OP, BatchWriter, readFrames, writeBatchHeader } from "./frames.js";
import { droppedForFull } from "../router/drop-if-full.js";
import { exportNameOf, moduleOf } from "./load-class.js";
import { withThreadExecArgv } from "./exec-argv.js";
import { addConsumerFromWorker, logWorkerError, reportUnroutable } from "./main-side.js";
import type { OffThreadPlacement, PlacementRequest } from "./off-thread-placement.js";
import type { PoolTask, PoolWorkerSpec } from "./pool-task.js";
import { decodeOp, encodeArgs, type ThreadToMainOp } from "./protocol.js";
import { threadSettings } from "./thread-placement.js";
import type { WorkerHandle } from "./worker-handle.js";
import { stopsWithin } from "../util/wait.js";
import { atTurnEnd } from "../util/turn-end.js";

const POOL_ENTRY = fileURLToPath(new URL("./pool-entry.js", import.meta.url));
/** Idle slots above minThreads live this long, so that bursts do not respawn threads. */
const IDLE_TIMEOUT_MS = 5_000;

/**
 * Placement "pool": stateless workers on ONE piscina pool shared by the node, created with
 * the first pool worker and destroyed when the node stops.
 */
export class PoolPlacement implements OffThreadPlacement {
  #pool: Promise<Piscina> | undefined;
  readonly #hosts = new Set<PoolHost>();

  constructor(readonly core: NodeCore) {}

  /** The pool's slots at most: piscina's default by core count unless NodeOptions.pool says. */
  get #maxThreads(): number {
    const { minThreads, maxThreads } = this.core.options.pool;
    return maxThreads ?? Math.max(Math.ceil(availableParallelism() * 1.5), minThreads ?? 1);
  }

  #getPool(): Promise<Piscina> {
    this.#pool ??= import("piscina").then(({ Piscina }) => {
      const { minThreads } = this.core.options.pool;
      // Piscina starts its first slots here (minThreads, at least 1 unless set to 0): a flag
      // of the parent's that Node refuses in a thread is learned and dropped as for any thread.
      return withThreadExecArgv((execArgv) => new Piscina({
        filename: POOL_ENTRY,
        name: "default",
        ...(minThreads !== undefined ? { minThreads } : {}),
        maxThreads: this.#maxThreads,
        idleTimeout: IDLE_TIMEOUT_MS,
        // A task that finds every slot busy goes back to the head of the queue, not its tail.
        // Piscina's default re-queues it at the tail, so with more lanes than slots one lane's
        // task could be passed over for ever while the others cycled (measured: 1 slot, 4
        // senders, one sender never answered).
        stricterFIFO: true,
        // The parent's loaders (e.g. --import tsx) apply in the slots too, minus main-script flags.
        execArgv,
      }));
    });
    return this.#pool;
  }

  async start(request: PlacementRequest): Promise<WorkerHandle> {
    if (request.kind === "processor") {
      throw new InvalidOptionError('A processor cannot run in the pool: its loop needs a thread of its own (use placement "thread")', { option: "placement" });
    }
    const spec: PoolWorkerSpec = {
      id: randomBytes(8).toString("hex"),
      module: moduleOf(request.workerClass),
      name: exportNameOf(request.workerClass),
      args: encodeArgs(request.args),
      address: request.addresses[0]!.toString(),
      settings: threadSettings(this.core),
    };
    // Twice the slots: a slot that ends a task finds the next one queued in piscina, and a few lanes still get a task each.
    const host = new PoolHost(this.core, request.addresses, spec, request.mailbox, 2 * this.#maxThreads);
    // Registered at once, as a thread worker is (within startWorker's call, so that a second start
    // of the address fails and a send made right after it waits): what is sent to it while the
    // pool starts and it loads waits in its lanes.
    this.core.router.register(request.addresses, host);
    try {
      host.pool = await this.#getPool();
      await host.load();
    } catch (error) {
      host.abandon();
      this.core.router.unregister(request.addresses);
      throw error;
    }
    this.#hosts.add(host);
    void host.stopped.then(() => this.#hosts.delete(host));
    return host;
  }

  async close(): Promise<void> {
    await Promise.all([...this.#hosts].map((host) => host.stop(new NodeStoppedError())));
    this.#hosts.clear();
    const pool = this.#pool;
    this.#pool = undefined;
    if (pool) await (await pool).destroy();
  }
}

/** How many bytes of frames a pool task takes at most (it takes at least one batch, whatever its size). */
const TASK_BYTES = 1024 * 1024;

/** The messages from one sender to one pool worker: at most one task in flight, so they stay in order. */
interface Lane {
  /** Its key in PoolHost's lanes (see #laneOf). */
  readonly sender: string;
  /** The sender's address key when it is local: a sendAndReceive's reply address, failed at once if its task is lost. */
  readonly replyKey: string | undefined;
  readonly frames: BatchWriter;
  /** What `frames` holds, released from the bound when its task ends. */
  messages: number;
  bytes: number;
  /**
   * Batches cut from `frames` while a task ran, and runs a thread passed on (takeRun), oldest
   * first: they go before what `frames` holds, in the same task. A batch is cut rather than
   * grown past 64 KiB (a copy of all of it; a lane's batch is whatever arrived while its task
   * ran, so its size varies).
   */
  readonly cut: LaneBatch[];
  running: boolean;
  queued: boolean;
}

/** One pool task: the batches of some ready lanes, each lane's in order. */
interface Task {
  readonly lanes: Lane[];
  /** How many of `batches` each lane gave, lane by lane (the slot says where each lane's messages end: laneEnd). */
  readonly laneBatches: number[];
  readonly batches: ArrayBuffer[];
  messages: number;
  bytes: number;
}

/** A batch taken from a lane, and what it holds of the mailbox's bound. */
interface LaneBatch {
  readonly batch: ArrayBuffer;
  readonly messages: number;
  readonly bytes: number;
}

/**
 * The main thread's side of one pool worker: its mailbox in the router. Envelopes are
 * batched per sender ("lane"); each lane has at most one task in flight, and what arrives
 * meanwhile becomes its next batch. Different senders run in parallel slots: the lanes ready
 * at a turn's end are spread over as many tasks as the pool has slots, so a task carries
 * several lanes' batches when more lanes than slots wait (a task per lane would cost the main
 * thread piscina's ~30-60 µs each, per request when every request is a sender of its own).
 *
 * Bounded like every mailbox: what waits in lanes and runs in tasks counts until its task
 * ends; and a lane whose last task sent into a full mailbox waits for room before its next.
 */
class PoolHost implements Mailbox, WorkerHandle {
  /** Envelopes a task sent: a repeated head reuses the last one's routes. */
  readonly #envelopes = new LocalEnvelopeDecoder();
  readonly placement = "pool" as const;
  readonly #core: NodeCore;
  readonly #log: Logger;
  readonly #lanes = new Map<string, Lane>();
  #readyLanes: Lane[] = [];
  #scheduled = false;
  #inFlight = 0;
  /** load() succeeded: lanes run (before, they wait). */
  #loaded = false;
  #whenIdle: (() => void) | undefined;
  #stopped = false;
  #stopping: Promise<void> | undefined;
  /** When the newest task began (`Date.now()`): while tasks are in flight, since when the worker is busy at least. */
  #lastTaskSince = 0;
  #resolveStopped!: () => void;
  readonly #stoppedPromise = new Promise<void>((resolve) => (this.#resolveStopped = resolve));
  readonly #bound: MailboxBound;
  /** Tasks in flight at most: twice the pool's slots (each slot has its next one queued; more would only queue, each with fewer lanes). */
  readonly #maxTasks: number;
  /** The last network sender and return route #laneOf named, and the key (a stream repeats them). */
  #lastSender: string | undefined;
  #lastRoute: Route | undefined;
  #lastKey = "";
  /** The node's pool: set by PoolPlacement.start once it exists, before load (nothing runs before). */
  pool!: Piscina;

  constructor(
    core: NodeCore,
    readonly addresses: readonly Address[],
    readonly spec: PoolWorkerSpec,
    limits: ResolvedMailboxLimits,
    maxTasks: number,
  ) {
    this.#core = core;
    this.#log = core.log.child("worker");
    this.#bound = new MailboxBound(limits);
    this.#maxTasks = Math.max(1, maxTasks);
  }

  get address(): Address {
    return this.addresses[0]!;
  }

  get isFull(): boolean {
    return this.#bound.isFull;
  }

  onRoom(callback: () => void): () => void {
    return this.#bound.onRoom(callback);
  }

  /** Makes an instance in one slot, so that a class that cannot load fails startWorker; what waits in the lanes runs after. */
  async load(): Promise<void> {
    const out = (await this.pool.run({ t: "load", spec: this.spec } satisfies PoolTask)) as ArrayBuffer | null;
    let failure: Error | undefined;
    if (out) {
      readFrames(out, (kind, bytes) => {
        const op = kind === FRAME_OP ? decodeOp<ThreadToMainOp>(bytes) : undefined;
        if (op?.t === "loadFailed") failure = errorFromData(op.error);
      });
    }
    if (failure) {
      throw failure instanceof WorkerLoadError ? failure : new WorkerLoadError(`${this.spec.name} could not be loaded in the pool`, { cause: failure });
    }
    this.#loaded = true;
    if (this.#readyLanes.length > 0 && !this.#scheduled) {
      this.#scheduled = true;
      atTurnEnd(this.#flush);
    }
  }

  /** It could not load: what waited for it is dropped, and it takes nothing more. */
  abandon(): void {
    this.#dropLanes();
    this.#resolveStopped();
  }

  /** Takes nothing more, and forgets what waits in its lanes (whoever waits for room is woken, to find it gone). */
  #dropLanes(): void {
    this.#stopped = true;
    this.#bound.reset();
    this.#lanes.clear();
    this.#readyLanes = [];
  }

  /** `deliver` writes the message into its sender's lane batch at once (or drops it): see Mailbox.copiesOnDeliver. */
  readonly copiesOnDeliver = true;

  deliver(message: LocalMessage, senderKey?: string): void {
    if (this.#stopped) return;
    const lane = this.#laneOf(senderKey, message.returnRoute);
    if (lane.frames.outgrowsWith(message)) lane.cut.push(takeBatch(lane)!);
    const size = writeEnvelope(lane.frames, FRAME_ENVELOPE, message);
    lane.messages++;
    lane.bytes += size;
    this.#bound.add(size);
    this.#ready(lane);
  }

  /** Mailbox.deliverLent: `deliver` copies the payload into the lane's batch before it returns. */
  deliverLent(message: LocalMessage, senderKey?: string): void {
    this.deliver(message, senderKey);
  }

  /**
   * Mailbox.deliverBytes: the bytes body is written into its sender's lane batch as `deliver`
   * would write it, with no message made when it repeats the lane's last head (a stream).
   */
  deliverBytes(onwardRoute: Route, returnRoute: Route, localInfo: LocalInfo, bytes: Uint8Array, senderKey?: string): void {
    if (this.#stopped) return;
    const lane = this.#laneOf(senderKey, returnRoute);
    const frames = lane.frames;
    if (!frames.takesSameHead(onwardRoute, returnRoute, localInfo, bytesBodyLength(bytes))) {
      return this.deliver(lentBytesMessage(onwardRoute, returnRoute, bytes, localInfo), senderKey);
    }
    const size = frames.pushSameHeadBytesBody(bytes);
    lane.messages++;
    lane.bytes += size;
    this.#bound.add(size);
    this.#ready(lane);
  }

  /** Mailbox.takesRuns: while the worker runs. */
  get takesRuns(): boolean {
    return !this.#stopped;
  }

  /** Mailbox.wouldFill. */
  wouldFill(messages: number, bytes: number): boolean {
    return this.#bound.wouldFill(messages, bytes);
  }

  /**
   * Mailbox.takeRun: the run is a batch of its sender's lane as it is (a task's batch has
   * the same frames), after what the lane holds already.
   */
  takeRun(senderKey: string, buffer: ArrayBuffer, used: number, frames: number, bytes: number): void {
    const lane = this.#lane(senderKey, senderKey); // a thread worker's run: a local sender, never the network's
    const pending = takeBatch(lane);
    if (pending) lane.cut.push(pending);
    writeBatchHeader(new Uint8Array(buffer), used); // seq and credit: a pool task reads neither
    lane.cut.push({ batch: buffer, messages: frames, bytes });
    this.#bound.addMany(frames, bytes);
    this.#ready(lane);
  }

  /**
   * The lane of a message from `senderKey` (the address that routed it) with this return
   * route. A local sender is the sender. A message from the network (its sender a
   * connection's or a secure channel's address: a producer) is its remote sender's, named by
   * its whole return route: a remote worker's stream keeps its order, and a remote peer's
   * requests, each with a reply address of its own, run in parallel slots as local requests
   * do (keyed by the channel alone, every request of a peer waited for the one before).
   */
  #laneOf(senderKey: string | undefined, returnRoute: Route): Lane {
    if (senderKey === undefined) {
      const key = returnRoute.addresses[0]?.key ?? "";
      return this.#lane(key, key);
    }
    if (this.#core.flowControls.producerByKey(senderKey) === undefined) return this.#lane(senderKey, senderKey);
    if (senderKey !== this.#lastSender || returnRoute !== this.#lastRoute) {
      this.#lastSender = senderKey;
      this.#lastRoute = returnRoute;
      this.#lastKey = `${senderKey}\u0000${returnRoute.toString()}`;
    }
    return this.#lane(this.#lastKey, undefined);
  }

  #lane(key: string, replyKey: string | undefined): Lane {
    let lane = this.#lanes.get(key);
    if (!lane) {
      lane = { sender: key, replyKey, frames: new BatchWriter(1024), messages: 0, bytes: 0, cut: [], running: false, queued: false };
      this.#lanes.set(key, lane);
    }
    return lane;
  }

  /** A lane with something to run: runs it at the end of the turn (once loaded), unless its task is running (it runs next then). */
  #ready(lane: Lane): void {
    if (lane.running || lane.queued) return;
    lane.queued = true;
    this.#readyLanes.push(lane);
    if (!this.#scheduled && this.#loaded) {
      this.#scheduled = true;
      atTurnEnd(this.#flush);
    }
  }

  readonly #flush = (): void => {
    this.#scheduled = false;
    this.#startTasks();
  };

  /**
   * Starts tasks for the ready lanes, oldest first, while fewer than #maxTasks run: the lanes
   * are spread evenly over the tasks that may start (so that they go to different slots), a
   * task taking about TASK_BYTES at most. Lanes left over wait for a task to end.
   */
  #startTasks(): void {
    const ready = this.#readyLanes;
    let taken = 0;
    while (taken < ready.length && this.#inFlight < this.#maxTasks && !this.#stopped) {
      const share = Math.ceil((ready.length - taken) / (this.#maxTasks - this.#inFlight));
      const task: Task = { lanes: [], laneBatches: [], batches: [], messages: 0, bytes: 0 };
      while (task.lanes.length < share && taken < ready.length && task.bytes < TASK_BYTES) {
        const lane = ready[taken++]!;
        lane.queued = false;
        if (takeInto(task, lane)) lane.running = true;
        else this.#lanes.delete(lane.sender);
      }
      if (task.lanes.length > 0) this.#run(task);
    }
    ready.splice(0, taken);
  }

  #run(task: Task): void {
    const { lanes, laneBatches, batches, messages, bytes } = task;
    this.#inFlight++;
    this.#lastTaskSince = Date.now();
    let full: (Mailbox | undefined)[] = [];
    this.pool
      .run({ t: "run", spec: this.spec, batches, lanes: laneBatches } satisfies PoolTask, { transferList: batches })
      .then(
        (out: ArrayBuffer | null) => (full = this.#handleOutput(out, lanes.length)),
        (error: unknown) => this.#taskFailed(lanes, error),
      )
      .finally(() => {
        this.#inFlight--;
        this.#bound.release(messages, bytes);
        if (this.#stopped) {
          for (const lane of lanes) lane.running = false;
          if (this.#inFlight === 0) this.#whenIdle?.();
        } else {
          // A lane whose messages fed a full mailbox: its next batch waits for room there. The
          // task's other lanes (and all other lanes) go on meanwhile.
          const done: Lane[] = [];
          lanes.forEach((lane, i) => {
            const fed = full[i];
            if (fed?.isFull && fed.onRoom) fed.onRoom(() => this.#lanesDone([lane]));
            else done.push(lane);
          });
          this.#lanesDone(done);
        }
      });
    // piscina posted the task to a slot (or queued it): keep polling for its result (NodeOptions.busyPollMicros).
    this.#core.busyPoll.afterHandOff?.();
  }

  /** A task's lanes may run again: those holding more are ready again (after the lanes already waiting), the others go. */
  #lanesDone(lanes: readonly Lane[]): void {
    for (const lane of lanes) {
      lane.running = false;
      if (this.#stopped) continue;
      if (lane.cut.length > 0 || lane.messages > 0) this.#ready(lane);
      else if (this.#lanes.get(lane.sender) === lane) this.#lanes.delete(lane.sender);
    }
    this.#startTasks();
  }

  /**
   * A task that failed as a whole: its slot ended under it (an error thrown in a timer, a
   * promise rejection nobody handled, `process.exit()`), and piscina replaces the slot. The
   * worker goes on, but the task's messages and what its handler sent are lost, so this is
   * not only a log line (hidden without DEBUG): it is a "handler-error", and each
   * sendAndReceive whose request was in the task (a local lane's sender is the call's reply
   * address) fails now rather than at its timeout. When the worker stops, tasks fail
   * because the pool is destroyed: that is the stop, not the worker's error.
   */
  #taskFailed(lanes: readonly Lane[], error: unknown): void {
    this.#log.error(`a pool task of ${this.address.toString()} failed`, error);
    if (this.#stopped) return;
    const replyKeys = lanes.flatMap((lane) => (lane.replyKey === undefined ? [] : [lane.replyKey]));
    this.#core.reportHandlerError(this.address, "handleMessage", WorkerHandlerError.wrapping(error), replyKeys);
  }

  /**
   * Routes what a task sent; returns, per lane of the task (`lanes` of them, told apart by the
   * slot's laneEnd ops), a mailbox its messages fed that is now full, if any.
   */
  #handleOutput(out: ArrayBuffer | null, lanes = 1): (Mailbox | undefined)[] {
    const fullOf: (Mailbox | undefined)[] = [];
    if (!out) return fullOf;
    const core = this.#core;
    let lane = 0;
    readFrames(out, (kind, bytes) => {
      if (kind === FRAME_ENVELOPE || kind === FRAME_ENVELOPE_SAME_HEAD || kind === FRAME_ENVELOPE_DROP_IF_FULL) {
        let message: LocalMessage | undefined;
        try {
          message = this.#envelopes.decodeFrame(kind, bytes);
          if (kind === FRAME_ENVELOPE_DROP_IF_FULL) {
            // Dropped rather than waited for: the lane's next task does not wait for room there.
            if (!droppedForFull(core.router, message.onwardRoute.next(), this.address.key, message.payloadLength)) core.router.route(message, this.address.key);
            return;
          }
          const mailbox = core.router.route(message, this.address.key);
          if (mailbox?.isFull) fullOf[lane] = mailbox;
        } catch (error) {
          // A pool task's sends resolve before they are routed: the node says what happened.
          reportUnroutable(core, this.#log, this.address, message, error);
        }
        return;
      }
      if (kind !== FRAME_OP) return;
      const op = decodeOp<ThreadToMainOp>(bytes);
      if (op.t === "laneEnd") lane = Math.min(lane + 1, lanes - 1);
      else if (op.t === "handlerError") logWorkerError(core, this.#log, this.address, op.what, op.error, op.replyTo);
      else if (op.t === "addConsumer") addConsumerFromWorker(core, this.#log, op.address, op.flowControlId);
      else if (op.t === "loadFailed") {
        this.#log.error(`a pool slot could not load ${this.address.toString()}: its batch was dropped`, errorFromData(op.error));
      }
    });
    return fullOf;
  }

  /** Resolves once the worker has stopped. */
  get stopped(): Promise<void> {
    return this.#stoppedPromise;
  }

  stop(reason?: Error, stopBegan?: number): Promise<void> {
    this.#stopping ??= this.#stop(reason, stopBegan);
    return this.#stopping;
  }

  async #stop(reason?: Error, stopBegan?: number): Promise<void> {
    // Its tasks in flight count from the newest one's start (stopsWithin).
    const turn = Date.now();
    const busySince = this.#inFlight > 0 ? this.#lastTaskSince : undefined;
    this.#stopped = true;
    this.#core.forget(this, reason);
    this.#dropLanes();
    const idle = this.#tasksDone();
    const shutDown = idle.then(() => this.#shutDown());
    if (!(await stopsWithin(idle, shutDown, this.#core.options.shutdownTimeout, stopBegan, busySince, turn))) {
      // Its slot runs on: node.stop() destroys the pool (terminating it) right after.
      this.#core.shutdownOverran(this.address, "given up on: its slot runs on until the node's stop ends the pool");
    }
    this.#resolveStopped();
  }

  /** Resolves once no task is in flight. */
  async #tasksDone(): Promise<void> {
    if (this.#inFlight > 0) await new Promise<void>((resolve) => (this.#whenIdle = resolve));
  }

  /** Runs `shutdown` in a slot (once the tasks in flight are done). */
  async #shutDown(): Promise<void> {
    try {
      this.#handleOutput((await this.pool.run({ t: "shutdown", spec: this.spec } satisfies PoolTask)) as ArrayBuffer | null);
    } catch (error) {
      this.#log.warn(`the shutdown of ${this.address.toString()} failed`, error);
    }
  }
}

/**
 * Adds to `task` what `lane` holds, oldest first, up to the task's worth (TASK_BYTES, but
 * at least one batch of the lane's); false if it holds nothing. Several batches go as one
 * task: a task costs the main thread ~30-60 µs of piscina's work, and a thread's runs
 * (takeRun) come a batch each. Not all of them: a task's messages count against the bound
 * until it ends, and a long one would hold a slot while other lanes wait.
 */
function takeInto(task: Task, lane: Lane): boolean {
  const before = task.batches.length;
  const add = (b: LaneBatch): void => {
    task.batches.push(b.batch);
    task.messages += b.messages;
    task.bytes += b.bytes;
  };
  const fits = (bytes: number): boolean => task.batches.length === before || task.bytes + bytes <= TASK_BYTES;
  while (lane.cut.length > 0 && fits(lane.cut[0]!.bytes)) add(lane.cut.shift()!);
  if (lane.cut.length === 0 && fits(lane.frames.size)) {
    const pending = takeBatch(lane);
    if (pending) add(pending);
  }
  if (task.batches.length === before) return false;
  task.lanes.push(lane);
  task.laneBatches.push(task.batches.length - before);
  return true;
}

/** What a lane's writer holds, as a batch of its own (undefined if it holds nothing); the lane starts a new one. */
function takeBatch(lane: Lane): LaneBatch | undefined {
  const batch = lane.frames.take();
  if (!batch) return undefined;
  const taken = { batch, messages: lane.messages, bytes: lane.bytes };
  lane.messages = 0;
  lane.bytes = 0;
  return taken;
}
