/**
 * The entry point of a thread that runs one worker or processor (placement "thread").
 * It imports the worker's module, finds the class by name, constructs it with its
 * arguments, runs `initialize` and answers `ready` — or `loadFailed` with the error, after
 * which the thread exits. Then it handles messages until the main thread says `stop`.
 */
import { workerData } from "node:worker_threads";
import { addressFromString } from "../address/address.js";
import { NodeStoppedError, WorkerHandlerError, WorkerLoadError } from "../errors/errors.js";
import { errorToData } from "../errors/hopwire-error.js";
import { createLogger } from "../logging/logger.js";
import type { LocalMessage } from "../message/local-message.js";
import type { Processor, Worker } from "../worker/worker.js";
import { loadWorkerClass } from "./load-class.js";
import { decodeArgs, type ThreadWorkerData } from "./protocol.js";
import { ProcessorRunner, WorkerRunner, replyKeyOf } from "./runners.js";
import { ThreadContext } from "./thread-context.js";
import { ThreadLink } from "./thread-link.js";

const data = workerData as ThreadWorkerData;
const addresses = data.addresses.map(addressFromString);
const address = addresses[0]!;
const log = createLogger("hopwire:worker", { debug: data.debug, ...(data.prefix ? { prefix: data.prefix } : {}) }).child(address.value);
const link = new ThreadLink(data.port, log, data.linkWindowBytes, data.mailbox);
// Only a worker's addresses are routed to this thread besides its calls' reply addresses (a processor's are not).
if (data.kind === "worker") link.ownKeys = new Set(addresses.map((a) => a.key));
const context = new ThreadContext(address, log, link, data.sendAndReceiveTimeout);

const report = (what: string, error: unknown, message?: LocalMessage): void => {
  const wrapped = what === "handleMessage" ? WorkerHandlerError.wrapping(error) : error;
  const replyTo = replyKeyOf(message);
  link.post({ t: "handlerError", what, error: errorToData(wrapped), ...(replyTo === undefined ? {} : { replyTo }) });
};

/** The runner, by kind (two variables, not one tested with `instanceof` per message: see main-context.ts's isRequest). */
let workerRunner: WorkerRunner | undefined;
let processorRunner: ProcessorRunner | undefined;
/** Messages that arrive while the class loads. */
const early: LocalMessage[] = [];
link.onEnvelope = (message) => {
  if (workerRunner !== undefined) workerRunner.deliver(message);
  else if (processorRunner === undefined) early.push(message);
  else link.consumed(message, true); // a processor has no mailbox: dropped, but counted
};

const started = start();
link.onStop = () => void stop();

async function start(): Promise<boolean> {
  try {
    const instance = await construct();
    if (data.kind === "worker") {
      const worker = instance as Worker;
      if (typeof worker.handleMessage !== "function") throw new WorkerLoadError(`${data.name} has no handleMessage method`);
      const started = new WorkerRunner(worker, context, address, report, (message, idle) => link.consumed(message, idle));
      workerRunner = started;
      for (const message of early.splice(0)) started.deliver(message);
      await initialized(started.initialize());
      link.post({ t: "ready" });
    } else {
      const processor = instance as Processor;
      if (typeof processor.process !== "function") throw new WorkerLoadError(`${data.name} has no process method`);
      const started = new ProcessorRunner(processor, context, report, () => link.post({ t: "finished" }));
      processorRunner = started;
      await initialized(started.initialize());
      link.post({ t: "ready" });
      started.run();
    }
    return true;
  } catch (error) {
    link.post({ t: "loadFailed", error: errorToData(error) });
    link.close();
    return false;
  }
}

async function construct(): Promise<unknown> {
  const workerClass = await loadWorkerClass(data.module, data.name);
  try {
    return new workerClass(...decodeArgs(data.args));
  } catch (cause) {
    throw new WorkerLoadError(`The constructor of ${data.name} threw`, { cause });
  }
}

async function initialized(pending: Promise<void> | void): Promise<void> {
  try {
    await pending;
  } catch (cause) {
    throw new WorkerLoadError(`${data.name} failed to initialize`, { cause });
  }
}

async function stop(): Promise<void> {
  if (!(await started)) return;
  // The main thread counts the handler in progress against shutdownTimeout from its start (stopsWithin).
  const runner = workerRunner ?? processorRunner;
  link.post({ t: "stopping", busySince: runner?.busySince ?? null });
  // Waits inside the worker fail now rather than at their timeouts.
  for (const inbox of link.requests.values()) inbox.close(new NodeStoppedError("The worker is stopping"));
  const stopping = runner?.stop();
  // Before "stopped": the main thread gives shutdown what is left of its own timeout from then.
  void runner?.settled.then(() => link.post({ t: "settled" }));
  await stopping;
  link.post({ t: "stopped" });
  link.close();
}
