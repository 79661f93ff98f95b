import { Address, toAddress, type AddressLike } from "../address/address.js";
import { encodeBody } from "../codec/body.js";
import { UnsupportedOperationError } from "../errors/errors.js";
import { LocalMessage, NO_LOCAL_INFO } from "../message/local-message.js";
import type { Routed } from "../message/routed.js";
import type { NodeCore } from "../node/node-core.js";
import { route, type Route, type RouteLike } from "../route/route.js";
import type { WaitOptions } from "../util/wait.js";
import type { Processor, StartWorkerOptions, Worker, WorkerClass } from "../worker/worker.js";
import type { Context, FlowControlsAccess, SendAndReceiveOptions, SendOptions } from "./context.js";
import { Inbox } from "./inbox.js";

/** A context on the node's main thread: it talks to the router directly. */
export class MainContext implements Context {
  readonly #core: NodeCore;
  readonly #inbox: Inbox | undefined;
  /** The return route of every send: built once, routes are immutable. */
  readonly #returnRoute: Route;

  constructor(core: NodeCore, readonly address: Address, inbox?: Inbox) {
    this.#core = core;
    this.#inbox = inbox;
    this.#returnRoute = route(address);
  }

  get log() {
    return this.#core.log;
  }

  get flowControls(): FlowControlsAccess {
    return this.#core.flowControls;
  }

  async send(to: RouteLike, body: unknown, options?: SendOptions): Promise<void> {
    this.#core.assertRunning();
    const message = new LocalMessage(route(to), this.#returnRoute, encodeBody(body), options?.localInfo ?? NO_LOCAL_INFO);
    this.#core.router.route(message, this.address.key);
  }

  async forward(message: LocalMessage): Promise<void> {
    this.#core.assertRunning();
    this.#core.router.route(message, this.address.key);
  }

  receive<T = unknown>(options: WaitOptions = {}): Promise<Routed<T>> {
    if (!this.#inbox) {
      return Promise.reject(
        new UnsupportedOperationError("receive is for the node's own context; a worker gets its messages in handleMessage"),
      );
    }
    return this.#inbox.receive<T>(options);
  }

  async sendAndReceive<T = unknown>(to: RouteLike, body: unknown, options: SendAndReceiveOptions = {}): Promise<T> {
    const core = this.#core;
    core.assertRunning();
    const onward = route(to);
    const firstHop = onward.next();
    const ephemeral = Address.random();
    const inbox = new Inbox(ephemeral);
    core.router.register([ephemeral], inbox);
    // A reply can only come back through the first hop: if it stops, fail now, not at the timeout.
    const unwatch = core.router.watchHop(firstHop, (error) => inbox.close(error));
    try {
      const message = new LocalMessage(onward, route(ephemeral), encodeBody(body), options.localInfo ?? NO_LOCAL_INFO);
      core.router.route(message, ephemeral.key);
      const reply = await inbox.receive<T>(
        { timeout: options.timeout ?? core.options.sendAndReceiveTimeout, signal: options.signal },
        `sendAndReceive to ${onward.toString()}`,
      );
      return reply.body;
    } finally {
      unwatch();
      core.router.unregister([ephemeral]);
    }
  }

  startWorker(address: AddressLike | AddressLike[], worker: WorkerClass | Worker, options?: StartWorkerOptions): Promise<void> {
    return this.#core.startWorker(address, worker, options, "worker");
  }

  startProcessor(address: AddressLike, processor: WorkerClass<Processor> | Processor, options?: StartWorkerOptions): Promise<void> {
    return this.#core.startWorker(address, processor, options, "processor");
  }

  /**
   * Stops a worker and waits for its shutdown — except when it is this context's own worker:
   * its shutdown waits for the handler that is calling, so this resolves once the stop began.
   */
  stopWorker(address: AddressLike): Promise<void> {
    const core = this.#core;
    const own = core.handleOf(this.address);
    if (own && own === core.handleOf(toAddress(address))) {
      void core.stopWorker(address).catch((error: unknown) => core.log.warn(`worker ${this.address.toString()} failed to stop`, error));
      return Promise.resolve();
    }
    return core.stopWorker(address);
  }

  /** Stops the node. From a worker's context it resolves once the stop began (see stopWorker). */
  stop(): Promise<void> {
    void this.#core.stop();
    return Promise.resolve();
  }
}
