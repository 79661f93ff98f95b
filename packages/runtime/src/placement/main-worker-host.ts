import type { Address } from "../address/address.js";
import type { Context } from "../context/context.js";
import { WorkerHandlerError } from "../errors/errors.js";
import type { Logger } from "../logging/logger.js";
import { LocalMessage } from "../message/local-message.js";
import type { MessageRun } from "../message/message-run.js";
import { forEachRepeatedPayload, REPEATED_HEAD_PAYLOADS } from "../codec/repeated-head.js";
import type { Mailbox } from "../router/mailbox.js";
import { MailboxBound, type ResolvedMailboxLimits } from "../router/mailbox-bound.js";
import { routeBytes } from "../route/route.js";
import { stopsWithin } from "../util/wait.js";
import type { Worker } from "../worker/worker.js";
import { WorkerRunner } from "./runners.js";
import type { WorkerHandle } from "./worker-handle.js";

/**
 * Runs a worker on the node's main thread: a FIFO queue drained one message at a time.
 * A handler that throws is logged; the worker keeps running.
 */
export class MainWorkerHost implements Mailbox, WorkerHandle {
  readonly placement = "main" as const;
  readonly #runner: WorkerRunner;
  /** Messages delivered and not yet handled: the sends feeding a full queue wait. */
  readonly #bound: MailboxBound;
  #stopped = false;

  constructor(
    readonly addresses: readonly Address[],
    readonly worker: Worker,
    readonly context: Context,
    readonly log: Logger,
    readonly onStop: (host: MainWorkerHost, reason?: Error) => void,
    limits: ResolvedMailboxLimits,
    /** How long stop() waits for the handler in progress and `shutdown` (NodeOptions.shutdownTimeout). */
    readonly shutdownTimeout: number,
    /** Also told when the worker's own code throws (node events and warnings). */
    onError: (what: string, error: unknown, message?: LocalMessage) => void = () => {},
    /** Told when its stop outlasted `shutdownTimeout` (the node's "shutdown-timeout" warning), with what was done about it. */
    readonly onShutdownOverran: (outcome: string) => void = () => {},
  ) {
    this.#bound = new MailboxBound(limits);
    const report = (what: string, error: unknown, message?: LocalMessage): void => {
      const address = this.address.toString();
      if (what === "handleMessage") {
        this.log.warn(`worker ${address} failed to handle a message`, WorkerHandlerError.wrapping(error), error);
      } else this.log.warn(`worker ${address} failed in ${what}`, error);
      onError(what, error, message);
    };
    this.#runner = new WorkerRunner(worker, context, addresses[0]!, report, (message) => this.#bound.release(1, queuedBytesOf(message)));
  }

  get isFull(): boolean {
    return this.#bound.isFull;
  }

  onRoom(callback: () => void): () => void {
    return this.#bound.onRoom(callback);
  }

  get address(): Address {
    return this.addresses[0]!;
  }

  initialize(): Promise<void> {
    return this.#runner.initialize();
  }

  deliver(message: LocalMessage): void {
    if (this.#stopped) return;
    this.#bound.add(queuedBytesOf(message));
    this.#runner.deliver(message);
  }

  /**
   * Takes a run of messages a transport read (the same routes, already routed and checked
   * here for its first message): each payload becomes a message in the queue, as `deliver`
   * would have it, without the route and the check per message (a 64 B stream from TCP:
   * ≈ 15 % of the receiving thread, docs/transport-tcp.md). False for a format it cannot read.
   */
  deliverRun(run: MessageRun): boolean {
    if (this.#stopped || run.format !== REPEATED_HEAD_PAYLOADS) return false;
    const { source, onwardRoute, returnRoute } = run;
    const routes = routeBytes(onwardRoute) + routeBytes(returnRoute);
    forEachRepeatedPayload(source, run.start, run.end, (start, end) => {
      this.#bound.add(routes + end - start);
      this.#runner.deliver(LocalMessage.fromRange(onwardRoute, returnRoute, source, start, end));
    });
    return true;
  }

  async stop(reason?: Error, stopBegan?: number): Promise<void> {
    const turn = Date.now();
    const busySince = this.#runner.busySince;
    if (!this.#stopped) {
      this.#stopped = true;
      this.onStop(this, reason);
      // Whoever waits for room gets to find the worker gone (UnknownAddressError), not wait for ever.
      this.#bound.reset();
    }
    await stopWithin(this.#runner, { timeout: this.shutdownTimeout, stopBegan, busySince, turn }, this.log, `worker ${this.address.toString()}`, this.onShutdownOverran);
  }
}

/**
 * What a queued message counts against the mailbox's `maxBytes`: its payload and its routes,
 * which it keeps alive too (as a thread's mailbox counts a message's whole frame).
 */
function queuedBytesOf(message: LocalMessage): number {
  return message.payloadLength + routeBytes(message.onwardRoute) + routeBytes(message.returnRoute);
}

/**
 * Stops a main-thread runner (the handler in progress, then `shutdown`) within the times
 * stopsWithin allows (`timeout` is NodeOptions.shutdownTimeout). Code on the main thread cannot
 * be terminated: past them the node goes on stopping and leaves it pending (a pending promise
 * does not keep a process alive).
 */
export async function stopWithin(
  runner: { stop(): Promise<void>; readonly settled: Promise<void> },
  times: { timeout: number; stopBegan: number | undefined; busySince: number | undefined; turn: number },
  log: Logger,
  what: string,
  overran: (outcome: string) => void,
): Promise<void> {
  const { timeout, stopBegan, busySince, turn } = times;
  const stopping = runner.stop();
  if (await stopsWithin(runner.settled, stopping, timeout, stopBegan, busySince, turn)) return;
  const outcome = "given up on: code on the main thread cannot be stopped, so its handler or shutdown is left pending";
  log.debug(`the shutdown of ${what} took more than ${timeout} ms (NodeOptions.shutdownTimeout): ${outcome}`);
  overran(outcome);
}
