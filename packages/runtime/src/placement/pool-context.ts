import { toAddress, type Address, type AddressLike } from "../address/address.js";
import { bodyMessage } from "../codec/body.js";
import type { Context, FlowControlsAccess, SendOptions, TrySendOptions } from "../context/context.js";
import { UnsupportedOperationError } from "../errors/errors.js";
import type { FlowControlId } from "../flow-control/flow-controls.js";
import { checkFlowControlId } from "../options/plain-options.js";
import type { Logger } from "../logging/logger.js";
import { LocalMessage, NO_LOCAL_INFO } from "../message/local-message.js";
import type { Routed } from "../message/routed.js";
import { route, type Route, type RouteLike } from "../route/route.js";
import { writeEnvelope } from "./envelopes.js";
import { FRAME_ENVELOPE, FRAME_ENVELOPE_DROP_IF_FULL, FRAME_OP, type BatchWriter } from "./frames.js";
import { encodeOp } from "./protocol.js";
import { checkForwardMessage, checkSendOptions, checkTrySendOptions, toForward } from "../context/send-options.js";

function unsupported(what: string): Promise<never> {
  return Promise.reject(new UnsupportedOperationError(`${what} is not available in a pool worker (it must not wait on other workers); use placement "thread"`));
}

/** The frame of a send: one with `{ ifFull: "drop" }` is dropped on the main thread if its first hop is full. */
function frameKind(options: SendOptions | undefined): number {
  return options?.ifFull === "drop" ? FRAME_ENVELOPE_DROP_IF_FULL : FRAME_ENVELOPE;
}

/**
 * The Context of a worker in a pool slot. What the handler sends is collected into the
 * task's result (a batch the main thread routes when the task ends), so a send resolves
 * at once; a routing error is logged by the main thread. Nothing here may wait for another
 * worker: receive, sendAndReceive, starting and stopping workers are unsupported.
 */
export class PoolContext implements Context {
  readonly #out: BatchWriter;
  readonly #self: Route;
  /** The task's result has left: what is written now would be lost (see `close`). */
  #closed = false;
  readonly flowControls: FlowControlsAccess;

  constructor(
    readonly address: Address,
    readonly log: Logger,
    out: BatchWriter,
  ) {
    this.#out = out;
    this.#self = route(address);
    this.flowControls = {
      // Checked here, where the caller is: on the main thread a bad id would only be a log line.
      addConsumer: (consumer: AddressLike, flowControlId: FlowControlId) => {
        if (this.#closed) throw this.#lateError("flowControls.addConsumer");
        out.push(FRAME_OP, encodeOp({ t: "addConsumer", address: toAddress(consumer).toString(), flowControlId: checkFlowControlId(flowControlId, "flowControlId", "ctx.flowControls.addConsumer") }));
      },
      findFlowControlWithProducerAddress: () => unsupported("findFlowControlWithProducerAddress"),
    };
  }

  /**
   * The task's result has been returned: a send made later (from a timer or a promise the
   * handler did not await) would be written into a batch nobody reads, and resolve as if
   * sent. It is refused instead.
   */
  close(): void {
    this.#closed = true;
  }

  #lateError(what: string): UnsupportedOperationError {
    return new UnsupportedOperationError(
      `${what} from a pool worker (${this.address.toString()}) after its handler returned would be lost: a pool task's sends leave with the task. ` +
        `Await it in the handler (a pool slot runs no timers between tasks), or use placement "thread"`,
    );
  }

  /** Resolves at once (the task's batch carries it); its options are checked as on any context. */
  async send(to: RouteLike, body: unknown, options?: SendOptions): Promise<void> {
    checkSendOptions(options, "send");
    this.#writeBody("send", to, body, options, frameKind(options));
  }

  /** Written into the task's batch before this returns: a bytes body is lent, not copied first. */
  #writeBody(call: "send" | "trySend", to: RouteLike, body: unknown, options: SendOptions | undefined, kind: number): void {
    if (this.#closed) throw this.#lateError(call);
    const message = bodyMessage(route(to), this.#self, body, options?.localInfo ?? NO_LOCAL_INFO, true);
    message.onwardRoute.next();
    writeEnvelope(this.#out, kind, message);
  }

  #writeMessage(call: "forward" | "tryForward", message: LocalMessage, options: SendOptions | undefined, kind: number): void {
    if (this.#closed) throw this.#lateError(call);
    message.onwardRoute.next();
    writeEnvelope(this.#out, kind, toForward(message, options));
  }

  /** As `send`: a pool task's sends never wait (the task's batch carries them). */
  trySend(to: RouteLike, body: unknown, options?: TrySendOptions): boolean {
    checkTrySendOptions(options, "trySend");
    this.#writeBody("trySend", to, body, options, FRAME_ENVELOPE);
    return true;
  }

  tryForward(message: LocalMessage, options?: TrySendOptions): boolean {
    checkForwardMessage(message);
    checkTrySendOptions(options, "tryForward");
    this.#writeMessage("tryForward", message, options, FRAME_ENVELOPE);
    return true;
  }

  async forward(message: LocalMessage, options?: SendOptions): Promise<void> {
    checkForwardMessage(message);
    checkSendOptions(options, "forward");
    this.#writeMessage("forward", message, options, frameKind(options));
  }

  receive<T = unknown>(): Promise<Routed<T>> {
    return unsupported("receive");
  }

  sendAndReceive<T = unknown>(): Promise<T> {
    return unsupported("sendAndReceive");
  }

  startWorker(): Promise<void> {
    return unsupported("startWorker");
  }

  startProcessor(): Promise<void> {
    return unsupported("startProcessor");
  }

  stopWorker(): Promise<void> {
    return unsupported("stopWorker");
  }

  stop(): Promise<void> {
    return unsupported("stop");
  }
}
