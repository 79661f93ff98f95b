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
import { settlesWithin } from "../util/wait.js";
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

  #getPool(): Promise<Piscina> {
    this.#pool ??= import("piscina").then(({ Piscina }) => {
      const { minThreads, maxThreads } = this.core.options.pool;
      const defaultMax = Math.ceil(availableParallelism() * 1.5);
      // Piscina starts its first slots here (minThreads, at least 1 unless set to 0): a flag
      // of the parent's that Node refuses in a thread is learned and dropped as for any thread.
      return withThreadExecArgv((execArgv) => new Piscina({
        filename: POOL_ENTRY,
        name: "default",
        ...(minThreads !== undefined ? { minThreads } : {}),
        maxThreads: maxThreads ?? Math.max(defaultMax, minThreads ?? 1),
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
    const host = new PoolHost(this.core, request.addresses, spec, request.mailbox);
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
  readonly sender: string;
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

/** A batch taken from a lane, and what it holds of the mailbox's bound. */
interface LaneBatch {
  readonly batch: ArrayBuffer;
  readonly messages: number;
  readonly bytes: number;
}

/**
 * The main thread's side of one pool worker: its mailbox in the router. Envelopes are
 * batched per sender ("lane"); each lane has at most one task in flight, and what arrives
 * meanwhile becomes its next batch. Different senders run in parallel slots.
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
  #resolveStopped!: () => void;
  readonly #stoppedPromise = new Promise<void>((resolve) => (this.#resolveStopped = resolve));
  readonly #bound: MailboxBound;
  /** The node's pool: set by PoolPlacement.start once it exists, before load (nothing runs before). */
  pool!: Piscina;

  constructor(
    core: NodeCore,
    readonly addresses: readonly Address[],
    readonly spec: PoolWorkerSpec,
    limits: ResolvedMailboxLimits,
  ) {
    this.#core = core;
    this.#log = core.log.child("worker");
    this.#bound = new MailboxBound(limits);
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
    const lane = this.#laneOf(senderKey ?? message.returnRoute.addresses[0]?.key ?? "");
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
    const lane = this.#laneOf(senderKey ?? returnRoute.addresses[0]?.key ?? "");
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
    const lane = this.#laneOf(senderKey);
    const pending = takeBatch(lane);
    if (pending) lane.cut.push(pending);
    writeBatchHeader(new Uint8Array(buffer), used); // seq and credit: a pool task reads neither
    lane.cut.push({ batch: buffer, messages: frames, bytes });
    this.#bound.addMany(frames, bytes);
    this.#ready(lane);
  }

  #laneOf(sender: string): Lane {
    let lane = this.#lanes.get(sender);
    if (!lane) {
      lane = { sender, frames: new BatchWriter(1024), messages: 0, bytes: 0, cut: [], running: false, queued: false };
      this.#lanes.set(sender, lane);
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
    const ready = this.#readyLanes;
    this.#readyLanes = [];
    for (const lane of ready) {
      lane.queued = false;
      if (!this.#stopped) this.#run(lane);
    }
  };

  #run(lane: Lane): void {
    const { batches, messages, bytes } = nextTask(lane);
    if (batches.length === 0) {
      this.#lanes.delete(lane.sender);
      return;
    }
    lane.running = true;
    this.#inFlight++;
    let full: Mailbox | undefined;
    this.pool
      .run({ t: "run", spec: this.spec, batches } satisfies PoolTask, { transferList: batches })
      .then(
        (out: ArrayBuffer | null) => (full = this.#handleOutput(out)),
        (error: unknown) => this.#taskFailed(lane.sender, error),
      )
      .finally(() => {
        this.#inFlight--;
        this.#bound.release(messages, bytes);
        if (this.#stopped) {
          lane.running = false;
          if (this.#inFlight === 0) this.#whenIdle?.();
        } else if (full?.isFull && full.onRoom) {
          // The task fed a full mailbox: the lane's next batch waits for room there.
          full.onRoom(() => {
            lane.running = false;
            if (!this.#stopped) this.#run(lane);
          });
        } else {
          lane.running = false;
          this.#run(lane);
        }
      });
    // piscina posted the task to a slot (or queued it): keep polling for its result (NodeOptions.busyPollMicros).
    this.#core.busyPoll.afterHandOff?.();
  }

  /**
   * A task that failed as a whole: its slot ended under it (an error thrown in a timer, a
   * promise rejection nobody handled, `process.exit()`), and piscina replaces the slot. The
   * worker goes on, but the task's messages and what its handler sent are lost, so this is
   * not only a log line (hidden without DEBUG): it is a "handler-error", and a
   * sendAndReceive whose request was in the task (its lane's sender is the call's reply
   * address) fails now rather than at its timeout. When the worker stops, tasks fail
   * because the pool is destroyed: that is the stop, not the worker's error.
   */
  #taskFailed(sender: string, error: unknown): void {
    this.#log.error(`a pool task of ${this.address.toString()} failed`, error);
    if (this.#stopped) return;
    this.#core.reportHandlerError(this.address, "handleMessage", WorkerHandlerError.wrapping(error), sender);
  }

  /** Routes what a task sent; returns a mailbox it fed that is now full, if any. */
  #handleOutput(out: ArrayBuffer | null): Mailbox | undefined {
    if (!out) return undefined;
    const core = this.#core;
    let full: Mailbox | undefined;
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
          if (mailbox?.isFull) full = mailbox;
        } catch (error) {
          // A pool task's sends resolve before they are routed: the node says what happened.
          reportUnroutable(core, this.#log, this.address, message, error);
        }
        return;
      }
      if (kind !== FRAME_OP) return;
      const op = decodeOp<ThreadToMainOp>(bytes);
      if (op.t === "handlerError") logWorkerError(core, this.#log, this.address, op.what, op.error, op.replyTo);
      else if (op.t === "addConsumer") addConsumerFromWorker(core, this.#log, op.address, op.flowControlId);
      else if (op.t === "loadFailed") {
        this.#log.error(`a pool slot could not load ${this.address.toString()}: its batch was dropped`, errorFromData(op.error));
      }
    });
    return full;
  }

  /** Resolves once the worker has stopped. */
  get stopped(): Promise<void> {
    return this.#stoppedPromise;
  }

  stop(reason?: Error): Promise<void> {
    this.#stopping ??= this.#stop(reason);
    return this.#stopping;
  }

  async #stop(reason?: Error): Promise<void> {
    this.#stopped = true;
    this.#core.forget(this, reason);
    this.#dropLanes();
    const timeout = this.#core.options.shutdownTimeout;
    if (!(await settlesWithin(this.#shutDown(), timeout))) {
      // Its slot runs on: node.stop() destroys the pool (terminating it) right after.
      this.#log.warn(`the shutdown of ${this.address.toString()} took more than ${timeout} ms (NodeOptions.shutdownTimeout): giving up on it`);
    }
    this.#resolveStopped();
  }

  /** Waits for the tasks in flight, then runs `shutdown` in a slot. */
  async #shutDown(): Promise<void> {
    if (this.#inFlight > 0) await new Promise<void>((resolve) => (this.#whenIdle = resolve));
    try {
      this.#handleOutput((await this.pool.run({ t: "shutdown", spec: this.spec } satisfies PoolTask)) as ArrayBuffer | null);
    } catch (error) {
      this.#log.warn(`the shutdown of ${this.address.toString()} failed`, error);
    }
  }
}

/**
 * Up to a task's worth (TASK_BYTES) of what a lane holds, oldest first, as the batches of
 * its next task (none if it holds nothing). Several batches go as one task: a task costs
 * the main thread ~30-60 µs of piscina's work, and a thread's runs (takeRun) come a batch
 * each. Not all of them: a task's messages count against the bound until it ends, and a
 * long one would hold a slot while other lanes wait.
 */
function nextTask(lane: Lane): { batches: ArrayBuffer[]; messages: number; bytes: number } {
  const task = { batches: [] as ArrayBuffer[], messages: 0, bytes: 0 };
  const add = (b: LaneBatch): void => {
    task.batches.push(b.batch);
    task.messages += b.messages;
    task.bytes += b.bytes;
  };
  while (lane.cut.length > 0 && (task.batches.length === 0 || task.bytes + lane.cut[0]!.bytes <= TASK_BYTES)) add(lane.cut.shift()!);
  if (lane.cut.length === 0 && (task.batches.length === 0 || task.bytes + lane.frames.size <= TASK_BYTES)) {
    const pending = takeBatch(lane);
    if (pending) add(pending);
  }
  return task;
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
