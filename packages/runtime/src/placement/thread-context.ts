import { Address, ephemeralAddress, toAddress, type AddressLike } from "../address/address.js";
import { bodyMessage, decodeBody, encodeBody } from "../codec/body.js";
import { encodeEnvelope } from "../codec/envelope.js";
import type { Context, FlowControlsAccess, SendAndReceiveOptions, SendOptions, TrySendOptions } from "../context/context.js";
import { Inbox } from "../context/inbox.js";
import { SENT } from "../context/send-queue.js";
import { InvalidOptionError, UnsupportedOperationError } from "../errors/errors.js";
import type { FlowControlId } from "../flow-control/flow-controls.js";
import { checkFlowControlId } from "../options/plain-options.js";
import type { Logger } from "../logging/logger.js";
import { LocalMessage, NO_LOCAL_INFO } from "../message/local-message.js";
import type { Routed } from "../message/routed.js";
import { route, type Route, type RouteLike } from "../route/route.js";
import { isWorkerClass, type Processor, type StartWorkerOptions, type Worker, type WorkerClass } from "../worker/worker.js";
import { exportNameOf, moduleOf } from "./load-class.js";
import { encodeArgs, type FoundProducer, type StartRequest } from "./protocol.js";
import type { ThreadLink } from "./thread-link.js";
import { checkForwardMessage, checkSendOptions, checkTrySendOptions, toForward } from "../context/send-options.js";
import { checkStartWorkerOptions } from "../worker/start-worker-options.js";

/**
 * The Context of a worker on its own thread. Everything goes through the main thread's
 * router over the link, in order: sends, the ephemeral addresses of sendAndReceive,
 * flow-control changes, starting and stopping workers.
 */
export class ThreadContext implements Context {
  readonly #link: ThreadLink;
  readonly #self: Route;
  readonly flowControls: FlowControlsAccess;

  constructor(
    readonly address: Address,
    readonly log: Logger,
    link: ThreadLink,
    readonly sendAndReceiveTimeout: number,
  ) {
    this.#link = link;
    this.#self = route(address);
    this.flowControls = {
      // Checked here, where the caller is: on the main thread a bad id would only be a log line.
      addConsumer: (consumer: AddressLike, flowControlId: FlowControlId) =>
        link.post({ t: "addConsumer", address: toAddress(consumer).toString(), flowControlId: checkFlowControlId(flowControlId, "flowControlId", "ctx.flowControls.addConsumer") }),
      findFlowControlWithProducerAddress: (producer: AddressLike) =>
        link.request<FoundProducer>({ t: "findProducer", address: toAddress(producer).toString() }),
    };
  }

  /**
   * Not async functions (as on the main thread): a send the link writes at once returns its
   * one settled promise instead of two more per send; a bad route or body still rejects.
   */
  send(to: RouteLike, body: unknown, options?: SendOptions): Promise<void> {
    try {
      checkSendOptions(options, "send");
      const onward = route(to);
      const localInfo = options?.localInfo ?? NO_LOCAL_INFO;
      // A bytes body the link writes at once is copied into the batch with no message made (a stream's: its payload alone).
      if (body instanceof Uint8Array && options?.ifFull !== "drop" && this.#link.writeBytesAtOnce(onward, this.#self, localInfo, body)) return SENT;
      // A send the link writes at once copies its body into the batch: a bytes body is lent, not copied first.
      const message = bodyMessage(onward, this.#self, body, localInfo, this.#link.writesAtOnce(onward));
      return this.#link.sendEnvelope(message, options);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  forward(message: LocalMessage, options?: SendOptions): Promise<void> {
    try {
      checkForwardMessage(message);
      checkSendOptions(options, "forward");
      return this.#link.sendEnvelope(toForward(message, options), options);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Written into the batch now if the link needs no wait and no ack for that hop (ThreadLink.writeEnvelopeAtOnce). */
  trySend(to: RouteLike, body: unknown, options?: TrySendOptions): boolean {
    checkTrySendOptions(options, "trySend");
    const onward = route(to);
    const localInfo = options?.localInfo ?? NO_LOCAL_INFO;
    if (body instanceof Uint8Array) return this.#link.writeBytesAtOnce(onward, this.#self, localInfo, body);
    // Encoded first, so that a body that cannot be encoded throws here, refused or not.
    return this.#link.writeEnvelopeAtOnce(bodyMessage(onward, this.#self, body, localInfo, true));
  }

  tryForward(message: LocalMessage, options?: TrySendOptions): boolean {
    checkForwardMessage(message);
    checkTrySendOptions(options, "tryForward");
    return this.#link.writeEnvelopeAtOnce(toForward(message, options));
  }

  receive<T = unknown>(): Promise<Routed<T>> {
    return Promise.reject(new UnsupportedOperationError("receive is for the node's own context; a worker gets its messages in handleMessage"));
  }

  async sendAndReceive<T = unknown>(to: RouteLike, body: unknown, options: SendAndReceiveOptions = {}): Promise<T> {
    // Here, not on the main thread the request goes to: the caller gets the error, before anything is sent.
    checkSendOptions(options, "sendAndReceive");
    const onward = route(to);
    onward.next();
    const ephemeral = ephemeralAddress();
    const key = ephemeral.key;
    const inbox = new Inbox(ephemeral);
    const link = this.#link;
    link.requests.set(key, inbox);
    // Cancels the request if it still waits to go (for a full first hop) when the call ends: it
    // would register its reply address after the call's `unregister`, for good.
    const unsent = new AbortController();
    try {
      const message = new LocalMessage(onward, route(ephemeral), encodeBody(body), options.localInfo ?? NO_LOCAL_INFO);
      // A routing error (unknown address, flow control denial) comes back as a nack and fails the wait.
      link.sendRequest({ t: "request", key, envelope: encodeEnvelope(message, "local") }, onward.next().key, { signal: unsent.signal }).catch((error: unknown) => inbox.close(error as Error));
      const reply = await inbox.receive<T>(
        { timeout: options.timeout ?? this.sendAndReceiveTimeout, signal: options.signal },
        `sendAndReceive to ${onward.toString()}`,
      );
      return decodeBody(reply.payload, options) as T;
    } finally {
      unsent.abort();
      link.requests.delete(key);
      link.post({ t: "unregister", key });
    }
  }

  startWorker(address: AddressLike | AddressLike[], worker: WorkerClass | Worker, options?: StartWorkerOptions): Promise<void> {
    return this.#start(address, worker, options, "worker");
  }

  startProcessor(address: AddressLike, processor: WorkerClass<Processor> | Processor, options?: StartWorkerOptions): Promise<void> {
    return this.#start(address, processor, options, "processor");
  }

  async #start(
    address: AddressLike | AddressLike[],
    worker: WorkerClass | Worker | Processor,
    options: StartWorkerOptions = {},
    kind: "worker" | "processor",
  ): Promise<void> {
    // Checked here: the request below carries only the keys it knows, so the main thread would not see a misspelt one.
    checkStartWorkerOptions(options);
    if (!isWorkerClass(worker)) {
      throw new InvalidOptionError(`A ${kind} started from another thread must be given as a class (with \`static module\`), not an instance`, { option: kind });
    }
    const list = [...(Array.isArray(address) ? address : [address]), ...(options.aliases ?? [])];
    const request: StartRequest = {
      addresses: list.map((a) => toAddress(a).toString()),
      module: moduleOf(worker),
      name: exportNameOf(worker),
      args: encodeArgs(options.args ?? []),
      kind,
    };
    if (options.placement !== undefined) request.placement = options.placement;
    if (options.mailbox !== undefined) request.mailbox = options.mailbox;
    await this.#link.request<void>({ t: "startWorker", request });
  }

  /** Stopping this worker itself resolves once the stop began: its shutdown runs after the current handler. */
  async stopWorker(address: AddressLike): Promise<void> {
    await this.#link.request<void>({ t: "stopWorker", address: toAddress(address).toString() });
  }

  /** Resolves once the node began stopping (this worker's shutdown runs after the current handler). */
  async stop(): Promise<void> {
    await this.#link.request<void>({ t: "stopNode" });
  }
}
