import { addressFromString, Address, toAddress } from "../address/address.js";
import { errorFromData, type ErrorData } from "../errors/hopwire-error.js";
import type { Logger } from "../logging/logger.js";
import type { LocalMessage } from "../message/local-message.js";
import type { NodeCore } from "../node/node-core.js";
import type { WorkerClass } from "../worker/worker.js";
import { loadWorkerClass } from "./load-class.js";
import { decodeArgs, type StartRequest } from "./protocol.js";

/* What the main thread does with frames from a worker's thread or a pool task. */

/**
 * Logs an error a worker's own code threw in its thread or pool slot (the worker keeps
 * running) and raises it on the node's main thread (node events, warnings).
 */
export function logWorkerError(core: NodeCore, log: Logger, worker: Address, what: string, data: ErrorData, replyTo?: string): void {
  const error = errorFromData(data);
  if (what === "handleMessage") log.warn(`worker ${worker.toString()} failed to handle a message`, error, error.cause ?? error);
  else log.warn(`worker ${worker.toString()} failed in ${what}`, error);
  core.reportHandlerError(worker, what, error, replyTo);
}

/**
 * A frame from a worker's thread or a pool task that the main thread could not route. Its send
 * resolved already, so the node reports the drop (once per cause, rate-limited) and the log says
 * it at debug level only: a stream cut off by a closing connection must not log every frame it
 * had in flight. A frame that did not decode (`message` undefined) is a fault of the worker's
 * own side, and warns.
 */
export function reportUnroutable(core: NodeCore, log: Logger, from: Address, message: LocalMessage | undefined, error: unknown): void {
  if (message === undefined) return log.warn(`a message from ${from.toString()} could not be decoded`, error);
  log.debug(`a message from ${from.toString()} could not be routed`, error);
  core.router.reportDropped(message.onwardRoute.next(), from.key, error);
}

export function addConsumerFromWorker(core: NodeCore, log: Logger, address: string, flowControlId: string): void {
  try {
    core.flowControls.addConsumer(toAddress(address), flowControlId);
  } catch (error) {
    log.warn(`a worker could not add consumer ${address}`, error);
  }
}

/** Starts a worker that a worker on another thread asked for. */
export async function startWorkerFor(core: NodeCore, request: StartRequest): Promise<void> {
  const placement = request.placement ?? "thread";
  // Off the main thread only the module and the name matter; on it, the real class is needed.
  const workerClass = placement === "main" ? await loadWorkerClass(request.module, request.name) : classStub(request.module, request.name);
  await core.startWorker(
    request.addresses.map(addressFromString),
    workerClass,
    { placement, args: decodeArgs(request.args), ...(request.mailbox ? { mailbox: request.mailbox } : {}) },
    request.kind,
  );
}

function classStub(module: string, name: string): WorkerClass {
  const stub = { [name]: class {} }[name]!;
  Object.defineProperty(stub, "module", { value: module });
  return stub as unknown as WorkerClass;
}
