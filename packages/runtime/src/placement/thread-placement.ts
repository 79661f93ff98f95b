import { MessageChannel, receiveMessageOnPort, Worker as NodeWorker, type MessagePort } from "node:worker_threads";
import { Address, LOCAL } from "../address/address.js";
import { NodeStoppedError, UnknownAddressError, WorkerLoadError } from "../errors/errors.js";
import { errorFromData, errorToData } from "../errors/hopwire-error.js";
import type { Logger } from "../logging/logger.js";
import type { LocalInfo, LocalMessage } from "../message/local-message.js";
import type { Route } from "../route/route.js";
import type { MessageRun } from "../message/message-run.js";
import { REPEATED_HEAD_PAYLOADS } from "../codec/repeated-head.js";
import type { NodeCore } from "../node/node-core.js";
import type { Mailbox } from "../router/mailbox.js";
import { deliveredLent } from "../router/router.js";
import { RouteMemo } from "../router/route-memo.js";
import { droppedForFull, reportDroppedForFull } from "../router/drop-if-full.js";
import { FullHops, type Parked } from "./full-hops.js";
import { firstFrameNotFor } from "./first-frame-not-for.js";
import { MailboxBound, type ResolvedMailboxLimits } from "../router/mailbox-bound.js";
import { decodeLocalEnvelope, LocalEnvelopeDecoder, writeEnvelope } from "./envelopes.js";
import {
  FIRST_FRAME,
  FRAME_ENVELOPE,
  FRAME_ENVELOPE_ACK,
  FRAME_ENVELOPE_ACK_DROP_IF_FULL,
  FRAME_ENVELOPE_DROP_IF_FULL,
  FRAME_ENVELOPE_SAME_HEAD,
  FRAME_OP,
  openBatch,
  PortWriter,
  readBatch,
  restOfBatch,
  type Batch,
} from "./frames.js";
import { exportNameOf, moduleOf } from "./load-class.js";
import { startThread } from "./exec-argv.js";
import { addConsumerFromWorker, logWorkerError, reportUnroutable, startWorkerFor } from "./main-side.js";
import type { OffThreadPlacement, PlacementRequest } from "./off-thread-placement.js";
import { decodeOp, encodeArgs, encodeOp, type MainToThreadOp, type ThreadSettings, type ThreadToMainOp, type ThreadWorkerData } from "./protocol.js";
import type { WorkerHandle } from "./worker-handle.js";
import { settlesWithin, stopsWithin } from "../util/wait.js";
import { deferred } from "../util/deferred.js";

const THREAD_ENTRY = new URL("./thread-entry.js", import.meta.url);

/**
 * How long frames for other hops may wait behind a thread's stream to a full hop that the main
 * thread leaves unread, before that stream is set aside (parked). A hop that drains (a
 * connection, a busy worker) has room again within it, and the stream goes on whole; setting
 * it aside at once, at each of a streaming thread's control round trips, cost
 * `tcp/one-hop-send-from-thread` a sixth of its rate at 16 KiB. A stalled hop (a peer that
 * withholds credit) holds the others this long, once.
 */
const HOLD_PATIENCE_MS = 20;

/** How many first hops one thread may send to without waiting for an ack. */
const MAX_GRANTS = 4096;
/** After `stopped`, how long a thread may take to exit by itself before it is terminated. */
const EXIT_GRACE_MS = 2_000;

/** The node's settings every thread and pool slot starts with. */
export function threadSettings(core: NodeCore): ThreadSettings {
  return {
    debug: process.env.DEBUG ?? "",
    prefix: core.options.name,
    sendAndReceiveTimeout: core.options.sendAndReceiveTimeout,
  };
}

/** Placement "thread": every worker on a worker_thread of its own. */
export class ThreadPlacement implements OffThreadPlacement {
  readonly #hosts = new Set<ThreadHost>();

  constructor(readonly core: NodeCore) {}

  async start(request: PlacementRequest): Promise<WorkerHandle> {
    const host = new ThreadHost(this.core, request.addresses, request.kind, {
      ...threadSettings(this.core),
      module: moduleOf(request.workerClass),
      name: exportNameOf(request.workerClass),
      args: encodeArgs(request.args),
      mailbox: request.mailbox,
      linkWindowBytes: this.core.options.linkWindowBytes,
    });
    this.#hosts.add(host);
    void host.exited.then(() => this.#hosts.delete(host));
    await host.start();
    return host;
  }

  async close(): Promise<void> {
    await Promise.all([...this.#hosts].map((host) => host.stop(new NodeStoppedError())));
  }
}

/** A batch from the thread not read to its end yet, and where to resume. */
interface Unread {
  batch: Batch;
  at: number;
  seq: number;
  /** False once its first frames were read as a run and then again the usual way (see Run). */
  mayRun: boolean;
  /** Something may keep a view into the batch (a frame routed other than lent, an operation): it is not given back. */
  kept?: boolean;
  /** Its frames parked for full hops (FullHops) and not routed yet: it goes back to the thread once they are. */
  parked?: number;
  /** Read to its end: given back when its last parked frame is routed (unless kept). */
  done?: boolean;
  /** The hop its frames were last checked against (firstFrameNotFor), and the offset of the first that is not for it (-1: none). */
  checkedFor?: string;
  notForAt?: number;
  /** Where that check began. */
  checkedFrom?: number;
}

/** A frame parked for a full hop, with the batch it is a view into. */
interface ParkedFrame extends Parked {
  readonly from?: Unread;
}

/**
 * Envelopes at the start of a batch from one worker's thread that all go, as they are, to
 * another worker's thread (a stream from one thread to another): they are passed on in the
 * batch they came in, transferred, rather than copied one by one into the other's batch.
 * The main thread copying each payload was ~60 % of its time in `runtime/thread->thread`
 * (session 27). The run ends before the first frame that is not such an envelope (an
 * operation, an envelope that waits for its ack, one for another mailbox or one that
 * routing would refuse or report); that frame and the rest are copied into a batch of their
 * own and read the usual way, unless they are more than a quarter of the run: the whole
 * batch is then read again the usual way.
 */
interface Run {
  /** A mailbox that takes runs (Mailbox.takeRun): another worker's thread, a pool worker. */
  readonly target: Mailbox;
  frames: number;
  bytes: number;
  /** Offset of the first frame after the run. */
  end: number;
  /** The first hop of its envelopes (of the last one decoded, should two addresses share the target). */
  hop: Address;
}

/** Batches and frames passed on from a thread to another worker without a copy (tests and probes read it). */
export const passedOn = { batches: 0, frames: 0 };

/** Runs a transport handed a thread's mailbox, and the messages in them (tests and probes read it). */
export const runsTaken = { runs: 0, messages: 0 };

/**
 * The main thread's side of one worker's thread: its mailbox in the router (envelopes are
 * batched onto the port) and the reader of what the thread sends back.
 *
 * Flow both ways: the mailbox is bounded by what the thread reports as handled (credit in
 * its batch headers); and when a frame of the thread fills the mailbox it went to, its first
 * hop is marked full (FullHops): the thread's frames for it wait, left unread (a stream) or
 * parked, while its other sends go on; past half a window parked, its sends to that hop wait
 * in the thread's own `send` (docs/architecture.md, "Flow").
 */
class ThreadHost implements Mailbox, WorkerHandle {
  readonly placement = "thread" as const;
  readonly #core: NodeCore;
  readonly #log: Logger;
  readonly #settings: Omit<ThreadWorkerData, "port" | "addresses" | "kind">;
  #thread: NodeWorker | undefined;
  #port: MessagePort | undefined;
  #writer: PortWriter | undefined;
  /** Envelopes delivered to the thread and not yet reported handled. */
  readonly #bound: MailboxBound;
  /** Batches from the thread not read yet (reading waits while a mailbox it fed is full). */
  readonly #unread: Unread[] = [];
  /** Where the thread's messages went lately (Router.route, remembered while the router's epoch stays). */
  #routes: RouteMemo | undefined;
  /** Envelopes from the thread: a repeated head reuses the last one's routes (and so the router's memo of them). */
  readonly #envelopes = new LocalEnvelopeDecoder();
  /** First hops this thread's sends filled, and what of its stream waits for them. */
  readonly #fullHops: FullHops<ParkedFrame>;
  /**
   * The full hop reading waits for, when everything unread is for it (a stream to one slow
   * worker): the stream is left as it is, and read on (in runs) once the hop has room, rather
   * than set aside frame by frame. Undefined while reading goes on.
   */
  #heldFor: string | undefined;
  /** Runs out a held stream's wait while frames for other hops wait behind it (#armPatience). */
  #patience: ReturnType<typeof setTimeout> | undefined;
  /** The full hop whose stream was set aside (parked frame by frame) until it has room again. */
  #setAsideFor: string | undefined;
  /** Stopping or gone: the thread's last frames are read whatever they feed. */
  #readAll = false;
  /** Frame bytes routed and not yet returned to the thread as credit. */
  #routedBytes = 0;
  /** Seq of the frame being read. */
  #seq = 0;
  /** The batch being read may start a run (its first frame is being read). */
  #mayRun = false;
  /** The run of the batch being read, if its first frames are one. */
  #run: Run | undefined;
  /** The first frame of a batch, decoded to see whether it starts a run: read on as is when it does not. */
  #lookedAt: LocalMessage | undefined;
  /** Seq of the last waiting frame that succeeded in the batch being read (-1: none). */
  #ackUpTo = -1;
  #newGrants: string[] = [];
  /** First hops granted to the thread, with the function that stops watching them. */
  readonly #granted = new Map<string, () => void>();
  /** Ephemeral addresses of the thread's pending sendAndReceive calls. */
  readonly #requests = new Map<string, () => void>();
  readonly #ready = deferred<void>();
  /** The thread said it was ready: from then on, its end while the node runs is the worker failing. */
  #started = false;
  readonly #stopped = deferred<void>();
  /** The thread's `stopping`: since when its handler in progress runs (undefined: none). */
  readonly #stoppingSaid = deferred<number | undefined>();
  /** The thread's `settled`: no handler in progress, its `shutdown` runs next. */
  readonly #settledSaid = deferred<void>();
  readonly #exited = deferred<void>();
  #stopping: Promise<void> | undefined;
  #alive = false;

  constructor(
    core: NodeCore,
    readonly addresses: readonly Address[],
    // Not `kind`: that is Mailbox.kind, which names a mailbox that leads to another node ("secure
    // channel", "connection") in a timeout's message; a worker's mailbox has none.
    readonly workerKind: "worker" | "processor",
    settings: Omit<ThreadWorkerData, "port" | "addresses" | "kind">,
  ) {
    this.#core = core;
    this.#log = core.log.child("worker");
    this.#settings = settings;
    this.#bound = new MailboxBound(settings.mailbox as ResolvedMailboxLimits);
    this.#fullHops = new FullHops(core.router, 2 * settings.linkWindowBytes, settings.linkWindowBytes / 2, {
      route: (parked) => this.#routeParked(parked),
      failed: (parked, error) => this.#parkedFailed(parked, error),
      notify: (key, full) => this.#post(full ? { t: "hopFull", key } : { t: "hopRoom", key }),
      released: (key) => this.#released(key),
      resume: this.#resumeReading,
    });
    this.#ready.promise.catch(() => {});
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

  /** Resolves when the thread has exited (or never started). */
  get exited(): Promise<void> {
    return this.#exited.promise;
  }

  async start(): Promise<void> {
    const core = this.#core;
    // Messages sent to the worker while it loads wait in its port.
    try {
      if (this.workerKind === "worker") core.router.register(this.addresses, this);
    } catch (error) {
      this.#exited.resolve(); // no thread was started: nothing to wait for when the node stops
      throw error;
    }
    const { port1, port2 } = new MessageChannel();
    const workerData: ThreadWorkerData = {
      ...this.#settings,
      port: port2,
      addresses: this.addresses.map((a) => a.toString()),
      kind: this.workerKind,
    };
    let thread: NodeWorker;
    try {
      // The parent's loaders (e.g. --import tsx) apply in the thread too, minus main-script flags.
      thread = startThread(THREAD_ENTRY, { workerData, transferList: [port2], name: `hopwire ${this.address.toString()}` });
    } catch (cause) {
      if (this.workerKind === "worker") core.router.unregister(this.addresses);
      this.#exited.resolve();
      throw new WorkerLoadError(`Could not start a thread for ${this.address.toString()}`, { cause });
    }
    this.#alive = true;
    this.#thread = thread;
    this.#port = port1;
    this.#writer = new PortWriter(port1, core.busyPoll.afterHandOff);
    port1.on("message", (batch: ArrayBuffer) => this.#receive(batch));
    thread.on("error", (error) => this.#onThreadGone(error));
    thread.on("exit", (code) => this.#onThreadGone(code === 0 ? undefined : new Error(`The thread exited with code ${code}`)));
    try {
      await this.#ready.promise;
    } catch (error) {
      this.#cleanup();
      if (this.workerKind === "worker") core.router.unregister(this.addresses);
      await this.#exit();
      throw error instanceof WorkerLoadError
        ? error
        : new WorkerLoadError(`The thread of ${this.address.toString()} failed while loading`, { cause: error });
    }
  }

  /** `deliver` writes the message into the thread's batch at once (or drops it): see Mailbox.copiesOnDeliver. */
  readonly copiesOnDeliver = true;

  deliver(message: LocalMessage): void {
    if (this.#writer && this.#alive) this.#bound.add(writeEnvelope(this.#writer, FRAME_ENVELOPE, message));
  }

  /** Mailbox.deliverLent: `deliver` copies the payload into the thread's batch before it returns. */
  deliverLent(message: LocalMessage): void {
    this.deliver(message);
  }

  /** Mailbox.deliverBytes: the bytes body is written into the thread's batch as `deliver` would write it. */
  deliverBytes(onwardRoute: Route, returnRoute: Route, localInfo: LocalInfo, bytes: Uint8Array): void {
    if (this.#writer && this.#alive) this.#bound.add(this.#writer.pushBytesBody(onwardRoute, returnRoute, localInfo, bytes));
  }

  /**
   * Takes a run of messages a transport read (the same routes, routed and checked for its
   * first message): each payload is written into the thread's batch as `deliver` would write
   * it, with no message object, route or check per message. False for a format it cannot
   * read, or while the thread is not running (the transport then delivers one by one).
   */
  deliverRun(run: MessageRun): boolean {
    if (run.format !== REPEATED_HEAD_PAYLOADS || !this.#writer || !this.#alive) return false;
    this.#bound.addMany(run.count, this.#writer.pushRepeatedPayloads(run.onwardRoute, run.returnRoute, run.source, run.start, run.end));
    runsTaken.runs++;
    runsTaken.messages += run.count;
    return true;
  }

  #post(op: MainToThreadOp): void {
    this.#writer?.push(FRAME_OP, encodeOp(op));
  }

  #nack(seq: number, error: unknown): void {
    this.#post({ t: "nack", seq, error: errorToData(error) });
  }

  #receive(buffer: ArrayBuffer): void {
    let batch: Batch;
    try {
      batch = openBatch(buffer);
    } catch (error) {
      this.#log.error(`dropped a malformed batch from ${this.address.toString()}`, error);
      return;
    }
    // Credit rides outside the frames: it counts even while reading waits.
    this.#bound.release(batch.credit.messages, batch.credit.bytes);
    const unread: Unread = { batch, at: FIRST_FRAME, seq: batch.firstSeq, mayRun: true };
    this.#unread.push(unread);
    const heldFor = this.#heldFor;
    if (heldFor !== undefined) {
      // It waits behind the held stream; if it has frames for other hops, not for long (#armPatience).
      if (!this.#onlyFor(unread, heldFor)) this.#armPatience();
      return;
    }
    if (!this.#fullHops.holding) this.#read();
  }

  readonly #resumeReading = (): void => {
    if (this.#heldFor === undefined && !this.#fullHops.holding) this.#read();
  };

  /** FullHopsHost.released: a hop with room again ends a wait for it. */
  #released(key: string): void {
    if (this.#setAsideFor === key) this.#setAsideFor = undefined;
    if (this.#heldFor !== key) return;
    this.#heldFor = undefined;
    this.#stopPatience();
    // Not from inside a read (a hop that went away while one routes): on a microtask.
    queueMicrotask(this.#resumeReading);
  }

  /**
   * Frames for other hops wait behind a held stream: if the hop has not had room again within
   * HOLD_PATIENCE_MS, the stream is set aside (its frames parked) and they are read.
   */
  #armPatience(): void {
    if (this.#patience !== undefined) return;
    this.#patience = setTimeout(this.#setAside, HOLD_PATIENCE_MS);
    this.#patience.unref?.();
  }

  #stopPatience(): void {
    if (this.#patience === undefined) return;
    clearTimeout(this.#patience);
    this.#patience = undefined;
  }

  readonly #setAside = (): void => {
    this.#patience = undefined;
    const key = this.#heldFor;
    if (key === undefined) return;
    this.#setAsideFor = key;
    this.#heldFor = undefined;
    this.#resumeReading();
  };

  /** Whether every frame of `unread` from offset `at` (where it is read, by default) is for `key`; remembered per batch. */
  #onlyFor(unread: Unread, key: string, at = unread.at): boolean {
    // Known: a frame for another hop comes further on (a scan from before it would find it again).
    if (unread.checkedFor === key && unread.notForAt! >= at) return false;
    if (unread.checkedFor === key && unread.notForAt === -1 && unread.checkedFrom! <= at) return true;
    const notForAt = firstFrameNotFor(unread.batch, at, key);
    unread.checkedFor = key;
    unread.notForAt = notForAt;
    unread.checkedFrom = at;
    return notForAt === -1;
  }

  /** Reads the unread batches in order until they are done or the frames parked for full hops pass their budget. */
  readonly #read = (): void => {
    const unread = this.#unread;
    const fullHops = this.#fullHops;
    while (unread.length > 0 && !fullHops.holding && this.#heldFor === undefined) {
      const next = unread[0]!;
      let at = -1;
      let malformed = false;
      this.#mayRun = next.mayRun && next.at === FIRST_FRAME;
      try {
        at = readBatch(next.batch, this.#onFrame, next.at, next.seq);
      } catch (error) {
        malformed = true;
        this.#log.error(`dropped the rest of a malformed batch from ${this.address.toString()}`, error);
      }
      this.#mayRun = false;
      const run = this.#run;
      if (run !== undefined) {
        this.#endRun(run, next, malformed);
        continue;
      }
      if (at < 0) {
        unread.shift();
        // Read, and nothing keeps a view into it: the thread writes its next batches into it
        // (once its parked frames, if any, are routed: #releaseParked).
        if (!next.kept && !malformed) {
          if (next.parked) next.done = true;
          else this.#writer?.giveBack(next.batch.buffer);
        }
      } else {
        next.at = at;
        next.seq = this.#seq + 1;
      }
    }
    this.#answerWaitingFrames();
    this.#returnCredit();
  };

  #answerWaitingFrames(): void {
    if (this.#ackUpTo < 0) return;
    const grant = this.#newGrants.filter((key) => this.#granted.has(key));
    this.#post(grant.length ? { t: "ack", seq: this.#ackUpTo, grant } : { t: "ack", seq: this.#ackUpTo });
    this.#ackUpTo = -1;
    this.#newGrants = [];
  }

  /**
   * Returns credit at once in bulk (a quarter of the window); less rides on the next batch to
   * the thread once the thread's stream is read (a request's reply costs no post of its own).
   */
  #returnCredit(): void {
    const routed = this.#routedBytes;
    if (routed === 0) return;
    const quarter = (routed + (this.#writer?.pendingCredit.bytes ?? 0)) * 4 >= this.#settings.linkWindowBytes;
    if (!quarter && this.#unread.length > 0) return;
    this.#writer?.addCredit(0, routed, quarter ? "now" : "with-next");
    this.#routedBytes = 0;
  }

  /**
   * After a frame went to `mailbox` along `onward`: when that filled it, its first hop is marked
   * full for this thread (unless the worker is stopping: its last frames must get through).
   * Reading goes on either way; returns false only when it must wait (FullHops.holding).
   */
  #fed(mailbox: Mailbox | undefined, onward: Route): boolean {
    if (!mailbox?.isFull || !mailbox.onRoom || this.#readAll) return true;
    this.#fullHops.mark(onward.next(), mailbox);
    return true;
  }

  /**
   * Whether a message from `senderKey` along `onward` must be parked: its first hop is marked
   * full. Not one that flow controls deny the sender: it is routed, so that the denial is what
   * the node reports (and the thread hears, for a send that waits for its verdict).
   */
  #mustPark(onward: Route, senderKey: string): boolean {
    const next = onward.next();
    if (!this.#fullHops.has(next.key)) return false;
    return !next.isLocal || this.#core.flowControls.isAllowed(senderKey, next.key);
  }

  /**
   * A plain envelope (`bytes`, a view of its frame) for a hop marked full: parked, and reading
   * waits for the hop (#heldFor) instead of parking the rest frame by frame (whose runs would
   * then go one message at a time); if frames for other hops are behind, not for longer than
   * HOLD_PATIENCE_MS, after which the stream is set aside until the hop has room. The
   * thread is not told: it waits for the link's credit, as it did before hops were told full
   * (told, a thread streaming to a connection was stopped and started at every fill, and lost
   * a fifth of its rate at 16 KiB). Should it want to send elsewhere meanwhile, it says so
   * (`creditStarved`), a frame for no hop that counts as one for another (#receive).
   */
  #parkOrHold(message: LocalMessage, size: number, bytes: Uint8Array): boolean {
    const key = message.onwardRoute.next().key;
    if (!this.#park(message, size)) return false;
    // Its wait ran out (#setAside): parked until the hop has room again.
    if (this.#setAsideFor === key) return true;
    this.#heldFor = key;
    if (!this.#restOnlyFor(key, bytes.byteOffset + bytes.byteLength)) this.#armPatience();
    return false;
  }

  /** Whether all that is unread after offset `end` of the batch being read is for `key`. */
  #restOnlyFor(key: string, end: number): boolean {
    const unread = this.#unread;
    if (!this.#onlyFor(unread[0]!, key, end)) return false;
    for (let i = 1; i < unread.length; i++) if (!this.#onlyFor(unread[i]!, key)) return false;
    return true;
  }

  /** Parks a message read off the batch being read, which is not given back until it is routed (it has views into it). */
  #park(message: LocalMessage, size: number): boolean {
    const from = this.#unread[0]!;
    from.parked = (from.parked ?? 0) + 1;
    return this.#fullHops.park(message.onwardRoute.next().key, { message, size, from });
  }

  /** FullHopsHost.route: a parked message's turn came. */
  #routeParked(parked: ParkedFrame): Mailbox | undefined {
    if (parked.requestKey !== undefined) {
      // Its call ended while it waited (it timed out): nobody would take the reply.
      if (!this.#requests.has(parked.requestKey)) return undefined;
      return this.#core.router.route(parked.message, parked.requestKey);
    }
    const mailbox = (this.#routes ??= new RouteMemo(this.#core.router, this.address.key)).route(parked.message, true);
    this.#releaseParked(parked, deliveredLent(parked.message, mailbox));
    return mailbox;
  }

  /** A parked frame was routed (`copied`: by a mailbox that kept no view into it), or failed: its batch may go back. */
  #releaseParked(parked: ParkedFrame, copied: boolean): void {
    const from = parked.from;
    if (from === undefined) return;
    if (!copied) from.kept = true;
    from.parked!--;
    if (from.parked === 0 && from.done && !from.kept) this.#writer?.giveBack(from.batch.buffer);
  }

  /** FullHopsHost.failed: its send had resolved (its frame was accepted), so the node, or the waiting request, says what happened. */
  #parkedFailed(parked: ParkedFrame, error: unknown): void {
    this.#releaseParked(parked, false);
    const key = parked.requestKey;
    if (key === undefined) return reportUnroutable(this.#core, this.#log, this.address, parked.message, error);
    if (this.#endRequest(key)) this.#post({ t: "requestFailed", key, error: errorToData(error) });
  }

  /** Forgets a pending sendAndReceive's reply address (the router's and the hop watch); false if none was pending. */
  #endRequest(key: string): boolean {
    const unwatch = this.#requests.get(key);
    if (unwatch === undefined) return false;
    this.#requests.delete(key);
    unwatch();
    this.#core.router.unregister([new Address(LOCAL, key)]);
    return true;
  }

  /**
   * After reading stopped in a run (at the batch's end, before a frame that is not part of
   * it, or after the frame that filled its target): passes it on, and leaves what follows it
   * to read (see Run), unless that is `malformed` (dropped, as any malformed rest).
   */
  #endRun(run: Run, next: Unread, malformed: boolean): void {
    this.#run = undefined;
    const batch = next.batch;
    const rest = malformed ? 0 : batch.used - run.end;
    if (rest * 4 > run.bytes) {
      // Read the batch again, the usual way: its run is too short to be worth copying the rest.
      this.#routedBytes -= run.bytes;
      next.at = FIRST_FRAME;
      next.seq = batch.firstSeq;
      next.mayRun = false;
      return;
    }
    const seqAfter = batch.firstSeq + run.frames;
    if (rest > 0) this.#unread[0] = { batch: restOfBatch(batch, run.end, seqAfter), at: FIRST_FRAME, seq: seqAfter, mayRun: true };
    else this.#unread.shift();
    run.target.takeRun!(this.address.key, batch.buffer, run.end, run.frames, run.bytes);
    passedOn.batches++;
    passedOn.frames += run.frames;
  }

  /** Mailbox.takesRuns: this worker's thread takes runs while it runs. */
  get takesRuns(): boolean {
    return this.#alive && this.#writer !== undefined;
  }

  /** Mailbox.wouldFill. */
  wouldFill(messages: number, bytes: number): boolean {
    return this.#bound.wouldFill(messages, bytes);
  }

  /** Mailbox.takeRun: the run goes on to the thread in its batch, after what is pending for it (PortWriter.passOn). */
  takeRun(_senderKey: string, buffer: ArrayBuffer, used: number, frames: number, bytes: number): void {
    this.#bound.addMany(frames, bytes);
    this.#writer!.passOn(buffer, used, frames);
  }

  /**
   * Reads a frame into the run of the batch being read, or starts one with it; returns the
   * run's target, or undefined when the frame is not part of it (it is then read the usual way).
   */
  #joinRun(kind: number, bytes: Uint8Array, size: number): Mailbox | undefined {
    const run = this.#run;
    let target: Mailbox | undefined;
    let hop: Address | undefined;
    if (kind === FRAME_ENVELOPE_SAME_HEAD && run !== undefined) {
      target = run.target; // the previous envelope's head: the same destination
    } else if (kind === FRAME_ENVELOPE) {
      let message: LocalMessage;
      try {
        message = this.#envelopes.decode(bytes);
      } catch {
        return undefined; // read the usual way, which reports it
      }
      hop = message.onwardRoute.next();
      const mailbox = this.#core.router.plainMailboxFor(hop, this.address.key);
      // A hop marked full is read the usual way: its frames are parked.
      if (mailbox?.takeRun === undefined || !mailbox.takesRuns || (run !== undefined && mailbox !== run.target) || this.#fullHops.has(hop.key)) {
        if (run === undefined) this.#lookedAt = message;
        return undefined;
      }
      target = mailbox;
    } else return undefined;
    if (run === undefined) this.#run = { target, frames: 1, bytes: size, end: FIRST_FRAME + size, hop: hop! };
    else {
      run.frames++;
      run.bytes += size;
      run.end += size;
      if (hop !== undefined) run.hop = hop;
    }
    return target;
  }

  readonly #onFrame = (kind: number, bytes: Uint8Array, seq: number, size: number): boolean => {
    if (this.#mayRun) {
      const target = this.#joinRun(kind, bytes, size);
      if (target !== undefined) {
        this.#seq = seq;
        this.#routedBytes += size;
        // As #fed: the frame that fills the target marks its hop full (unless this worker is
        // stopping), and ends the run; the rest is read on, the hop's frames held or parked.
        const run = this.#run!;
        if (this.#readAll || !target.wouldFill!(run.frames, run.bytes)) return true;
        this.#fullHops.mark(run.hop, target);
        return false;
      }
      this.#mayRun = false;
      // Not part of the run that came before: stop before it, pass the run on, then read it from the rest.
      if (this.#run !== undefined) return false;
    }
    this.#seq = seq;
    this.#routedBytes += size;
    if (kind === FRAME_ENVELOPE || kind === FRAME_ENVELOPE_SAME_HEAD) {
      let message: LocalMessage | undefined;
      try {
        message = this.#lookedAt ?? this.#envelopes.decodeFrame(kind, bytes);
        this.#lookedAt = undefined;
        if (this.#fullHops.size !== 0 && this.#mustPark(message.onwardRoute, this.address.key)) return this.#parkOrHold(message, size, bytes);
        return this.#fed(this.#routeLent(message), message.onwardRoute);
      } catch (error) {
        this.#keepBatch();
        // Its send resolved already (a granted address): the node says what happened.
        reportUnroutable(this.#core, this.#log, this.address, message, error);
      }
    } else if (kind === FRAME_ENVELOPE_ACK) {
      let message: LocalMessage;
      let mailbox: Mailbox | undefined;
      try {
        message = this.#envelopes.decode(bytes);
        if (this.#fullHops.size !== 0 && this.#mustPark(message.onwardRoute, this.address.key)) {
          // Accepted: its hop exists and flow controls let it through; it goes when there is room.
          this.#ackUpTo = seq;
          return this.#park(message, size);
        }
        mailbox = this.#routeLent(message);
      } catch (error) {
        this.#keepBatch();
        this.#nack(seq, error);
        return true;
      }
      this.#ackUpTo = seq;
      this.#maybeGrant(message.onwardRoute.next());
      return this.#fed(mailbox, message.onwardRoute);
    } else if (kind === FRAME_OP) {
      // An operation may carry an envelope (a request) or bytes that outlive the batch.
      this.#keepBatch();
      let op: ThreadToMainOp;
      try {
        op = decodeOp<ThreadToMainOp>(bytes);
      } catch (error) {
        this.#log.error(`dropped an undecodable operation from ${this.address.toString()}`, error);
        return true;
      }
      return this.#onOp(op, seq, size);
    } else if (kind === FRAME_ENVELOPE_DROP_IF_FULL || kind === FRAME_ENVELOPE_ACK_DROP_IF_FULL) {
      return this.#onDropIfFull(kind, bytes, seq);
    } else {
      this.#log.error(`dropped a frame of unknown kind ${kind} from ${this.address.toString()}`);
    }
    return true;
  };

  /**
   * An envelope sent with `{ ifFull: "drop" }` (kinds 5 and 6, the latter waiting for its
   * verdict as ENVELOPE_ACK does): dropped if its first hop is full, else routed; reading never
   * stops for it, so one full hop (a peer that withholds credit) does not hold this thread's
   * other sends. A method of its own, off the hot path of the frames above.
   */
  #onDropIfFull(kind: number, bytes: Uint8Array, seq: number): boolean {
    const acked = kind === FRAME_ENVELOPE_ACK_DROP_IF_FULL;
    let message: LocalMessage | undefined;
    try {
      message = this.#envelopes.decode(bytes);
      const next = message.onwardRoute.next();
      // Parked sends to its hop wait: it would overtake them.
      const waiting = this.#fullHops.size !== 0 && this.#fullHops.has(next.key);
      if (!droppedForFull(this.#core.router, next, this.address.key, message.payloadLength, waiting)) this.#routeLent(message);
    } catch (error) {
      this.#keepBatch();
      if (acked) this.#nack(seq, error);
      // Its send resolved already (a granted address): the node says what happened.
      else reportUnroutable(this.#core, this.#log, this.address, message, error);
      return true;
    }
    if (acked) {
      this.#ackUpTo = seq;
      this.#maybeGrant(message.onwardRoute.next());
    }
    return true;
  }

  /** Something may keep a view into the batch being read: it is not given back to the thread. */
  #keepBatch(): void {
    this.#unread[0]!.kept = true;
  }

  /**
   * Routes a message read off the thread's batch with its payload lent (Router.route): a
   * mailbox that copies it leaves the batch free to go back to the thread; any other may
   * keep a view into it, and the batch is then not given back.
   */
  #routeLent(message: LocalMessage): Mailbox | undefined {
    // A memo: a stream's frames repeat one head (the same Route objects), and its verdict.
    const mailbox = (this.#routes ??= new RouteMemo(this.#core.router, this.address.key)).route(message, true);
    if (!deliveredLent(message, mailbox)) this.#keepBatch();
    return mailbox;
  }

  /**
   * Lets the thread send to `hop` without waiting from now on: only a local address that
   * exists (it will say when it goes away) and only for a sender that flow controls do not
   * restrict, so that an optimistic send can only fail by a race with the hop stopping.
   */
  #maybeGrant(hop: Address): void {
    const key = hop.key;
    if (!hop.isLocal || this.#granted.has(key) || this.#granted.size >= MAX_GRANTS) return;
    const core = this.#core;
    const mailbox = core.router.mailboxOf(hop);
    if (!mailbox || core.router.isShortLived(key, mailbox) || core.flowControls.isProducerKey(this.address.key)) return;
    this.#granted.set(
      key,
      core.router.watchHop(hop, () => {
        this.#granted.delete(key);
        this.#post({ t: "forget", key });
      }),
    );
    this.#newGrants.push(key);
  }

  /** Applies an operation (of `size` bytes of frame); returns false when reading must wait (see #fed). */
  #onOp(op: ThreadToMainOp, seq: number, size: number): boolean {
    const core = this.#core;
    switch (op.t) {
      case "ready":
        this.#started = true;
        this.#ready.resolve();
        break;
      case "loadFailed":
        this.#ready.reject(errorFromData(op.error));
        break;
      case "request":
        return this.#request(op.key, op.envelope, seq, size);
      case "unregister":
        this.#endRequest(op.key);
        break;
      case "creditStarved":
        // Its own frame, read or not, is what ends a wait for one hop's stream (#receive).
        break;
      case "droppedFull":
        // A drop send the thread dropped itself: earlier sends of its to that hop wait for room there.
        if (typeof op.to === "string") {
          try {
            reportDroppedForFull(core.router, Address.parse(op.to), this.address.key);
          } catch (error) {
            this.#log.error(`ignored a malformed droppedFull from ${this.address.toString()}`, error);
          }
        }
        break;
      case "dropped":
        if (typeof op.key === "string" && typeof op.from === "string") {
          const address = new Address(LOCAL, op.key);
          core.diagnostics.dropped(address, op.from, "unknown-address", new UnknownAddressError(`No worker has the address ${address.toString()}: the sendAndReceive it was made for had ended`));
        }
        break;
      case "addConsumer":
        addConsumerFromWorker(core, this.#log, op.address, op.flowControlId);
        break;
      case "findProducer":
        try {
          this.#post({ t: "result", seq, value: core.flowControls.findFlowControlWithProducerAddress(op.address) });
        } catch (error) {
          this.#nack(seq, error);
        }
        break;
      case "startWorker":
        this.#answer(seq, startWorkerFor(core, op.request));
        break;
      case "stopWorker":
        this.#answer(seq, this.#stopWorker(op.address));
        break;
      case "stopNode":
        // The node's stop includes this worker, which waits for its current handler: answer now.
        void core.stop();
        this.#post({ t: "result", seq });
        break;
      case "handlerError":
        logWorkerError(this.#core, this.#log, this.address, op.what, op.error, op.replyTo);
        break;
      case "finished":
        void this.stop();
        break;
      case "stopping":
        this.#stoppingSaid.resolve(op.busySince ?? undefined);
        break;
      case "settled":
        this.#settledSaid.resolve();
        break;
      case "stopped":
        this.#stopped.resolve();
        break;
      default:
        this.#log.error(`ignored an unknown operation ${JSON.stringify((op as { t: unknown }).t)} from ${this.address.toString()}`);
    }
    return true;
  }

  #answer(seq: number, pending: Promise<unknown>): void {
    pending.then(
      () => this.#post({ t: "result", seq }),
      (error: unknown) => this.#nack(seq, error),
    );
  }

  #stopWorker(address: string): Promise<void> {
    const target = Address.parse(address);
    if (this.addresses.some((a) => a.equals(target))) {
      // Stopping itself: its shutdown waits for the handler that asked, so do not wait for it.
      void this.stop();
      return Promise.resolve();
    }
    return this.#core.stopWorker(target);
  }

  /** sendAndReceive from the thread: an ephemeral address of this thread, watching the first hop. */
  #request(key: string, envelope: Uint8Array, seq: number, size: number): boolean {
    const router = this.#core.router;
    let message: LocalMessage;
    let hop: Address;
    try {
      const ephemeral = new Address(LOCAL, key);
      message = decodeLocalEnvelope(envelope);
      // Before anything is registered: a request with no first hop (a broken thread) leaves nothing behind.
      hop = message.onwardRoute.next();
      // Short-lived: the request's reply address, gone when it settles (no new router epoch then).
      router.register1(ephemeral, this, true);
    } catch (error) {
      this.#nack(seq, error);
      return true;
    }
    const unwatch = router.watchHop(hop, (error) => this.#post({ t: "hopGone", key, error: errorToData(error) }));
    this.#requests.set(key, unwatch);
    if (this.#fullHops.size !== 0 && this.#mustPark(message.onwardRoute, key)) {
      this.#ackUpTo = seq;
      return this.#fullHops.park(hop.key, { message, size, requestKey: key });
    }
    try {
      const mailbox = router.route(message, key);
      this.#ackUpTo = seq;
      return this.#fed(mailbox, message.onwardRoute);
    } catch (error) {
      this.#endRequest(key);
      this.#nack(seq, error);
      return true;
    }
  }

  /** Mailbox.failRequest: a request of this thread's is answered by nobody (its handler threw); the thread fails it. */
  failRequest(key: string, error: Error): void {
    if (this.#requests.has(key)) this.#post({ t: "requestFailed", key, error: errorToData(error) });
  }

  stop(reason?: Error, stopBegan?: number): Promise<void> {
    this.#stopping ??= this.#stop(reason, stopBegan);
    return this.#stopping;
  }

  async #stop(reason?: Error, stopBegan?: number): Promise<void> {
    this.#core.forget(this, reason);
    // Senders waiting for room find the worker gone; the thread's last frames are read whatever is full.
    this.#bound.reset();
    this.#readAll = true;
    // What waits for a full hop goes now (and reading resumes, if it waited for the parked).
    this.#fullHops.flush();
    let clean = true;
    if (this.#alive) {
      const turn = Date.now();
      this.#post({ t: "stop" });
      this.#writer?.flush();
      const timeout = this.#core.options.shutdownTimeout;
      let ended = false;
      const end = Promise.race([this.#stopped.promise, this.#exited.promise]).then(() => void (ended = true));
      // The thread says at once since when its handler in progress runs, and then when it
      // ended: counted as stopsWithin says, or all from here if it does not say (a handler
      // that blocks its event loop).
      let busySince: number | undefined;
      const said = this.#stoppingSaid.promise.then((since) => void (busySince = since));
      clean = await settlesWithin(Promise.race([end, said]), timeout);
      if (clean && !ended) clean = await stopsWithin(this.#settledSaid.promise, end, timeout, stopBegan, busySince, turn);
      if (!clean) this.#core.shutdownOverran(this.address, "its thread was terminated");
    }
    this.#cleanup();
    await this.#exit(clean ? EXIT_GRACE_MS : 0);
  }

  /**
   * Waits for the thread to exit by itself (so that what it printed is flushed), and
   * terminates it if it has not after `graceMs`.
   */
  async #exit(graceMs = EXIT_GRACE_MS): Promise<void> {
    if (this.#alive && this.#thread) {
      if (graceMs === 0 || !(await settlesWithin(this.#exited.promise, graceMs))) await this.#thread.terminate();
    }
    await this.#exited.promise;
  }

  #onThreadGone(thrown: Error | undefined): void {
    if (!this.#alive) return;
    // A thread's uncaught error arrives structured-cloned, a plain Error: rebuilt as its own class by its code.
    const error = thrown && errorFromData(errorToData(thrown));
    this.#readAll = true;
    // What waits for a full hop goes now (and reading resumes, if it waited for the parked).
    this.#fullHops.flush();
    // What the thread posted before it exited (`loadFailed`, `stopped`) may still wait in the port.
    for (let entry = this.#port && receiveMessageOnPort(this.#port); entry; entry = receiveMessageOnPort(this.#port!)) {
      this.#receive(entry.message as ArrayBuffer);
    }
    this.#alive = false;
    if (this.#started && !this.#stopping) {
      // Not only a log line (hidden without DEBUG): the worker is gone, and its senders will only see UnknownAddressError.
      this.#core.diagnostics.workerFailed(this.address, error ?? new Error("Its thread exited (process.exit() in the worker's code?)"));
    }
    if (error) {
      if (!this.#stopping) this.#log.error(`the thread of ${this.address.toString()} failed`, error);
      this.#ready.reject(error);
    } else this.#ready.reject(new WorkerLoadError(`The thread of ${this.address.toString()} exited before it was ready`));
    this.#port?.close();
    this.#exited.resolve();
    if (!this.#stopping) {
      this.#cleanup();
      this.#core.forget(this, error);
    }
  }

  /** Forgets everything registered on the thread's behalf; later deliveries are dropped. */
  #cleanup(): void {
    const router = this.#core.router;
    for (const [key, unwatch] of this.#requests) {
      unwatch();
      router.unregister([new Address(LOCAL, key)]);
    }
    this.#requests.clear();
    for (const unwatch of this.#granted.values()) unwatch();
    this.#granted.clear();
    this.#writer?.close();
    this.#unread.length = 0;
    this.#fullHops.clear();
    this.#heldFor = undefined;
    this.#stopPatience();
    this.#setAsideFor = undefined;
    this.#bound.reset();
  }
}
