/**
 * The task handler of the node's piscina pool (placement "pool"). A task carries a BATCH of
 * envelopes for one worker from one sender; the handler runs them in order on this slot's
 * instance of the worker and returns, as one transferred batch, what the handler sent.
 * Instances are made per slot (constructor + initialize) the first time a slot sees a worker.
 */
import { move } from "piscina";
import { addressFromString } from "../address/address.js";
import { WorkerHandlerError, WorkerLoadError } from "../errors/errors.js";
import { errorToData } from "../errors/hopwire-error.js";
import { createLogger, type Logger } from "../logging/logger.js";
import type { LocalMessage } from "../message/local-message.js";
import { Routed } from "../message/routed.js";
import type { Worker } from "../worker/worker.js";
import { LocalEnvelopeDecoder } from "./envelopes.js";
import { FRAME_ENVELOPE, FRAME_ENVELOPE_SAME_HEAD, FRAME_OP, BatchWriter, readFrames } from "./frames.js";
import { loadWorkerClass } from "./load-class.js";
import { PoolContext } from "./pool-context.js";
import { replyKeyOf } from "./runners.js";
import { decodeArgs, encodeOp, type ThreadToMainOp } from "./protocol.js";
import type { PoolTask } from "./pool-task.js";

/** Per slot, the instances of the workers it ran, least recently used first. */
const instances = new Map<string, Promise<Worker>>();
const MAX_INSTANCES = 256;

export default async function runPoolTask(task: PoolTask): Promise<unknown> {
  const { spec } = task;
  const out = new BatchWriter(task.t === "run" ? undefined : 256);
  const address = addressFromString(spec.address);
  const context = new PoolContext(address, loggerFor(spec), out);
  const post = (op: ThreadToMainOp): void => {
    out.push(FRAME_OP, encodeOp(op));
  };
  try {
    if (task.t === "load") await instanceFor(task.spec, context);
    else if (task.t === "run") {
      const worker = await instanceFor(task.spec, context);
      const messages: LocalMessage[] = [];
      // A batch's messages mostly share their head: decoded once.
      const envelopes = new LocalEnvelopeDecoder();
      // Where each lane's messages end (`lanes`: its batches' count, lane by lane): a laneEnd op goes out there.
      const laneEnds: number[] = [];
      let laneIndex = 0;
      let batchesLeft = task.lanes?.[0] ?? Infinity;
      for (const batch of task.batches) {
        readFrames(batch, (kind, bytes) => {
          if (kind === FRAME_ENVELOPE || kind === FRAME_ENVELOPE_SAME_HEAD) messages.push(envelopes.decodeFrame(kind, bytes));
        });
        if (--batchesLeft === 0 && task.lanes !== undefined) {
          laneEnds.push(messages.length);
          batchesLeft = task.lanes[++laneIndex] ?? Infinity;
        }
      }
      let nextEnd = 0;
      for (let m = 0; m <= messages.length; m++) {
        while (nextEnd < laneEnds.length && laneEnds[nextEnd] === m) {
          post({ t: "laneEnd" });
          nextEnd++;
        }
        if (m === messages.length) break;
        const message = messages[m]!;
        try {
          const pending = worker.handleMessage(context, new Routed(message, address));
          if (pending) await pending;
        } catch (error) {
          const replyTo = replyKeyOf(message);
          post({ t: "handlerError", what: "handleMessage", error: errorToData(WorkerHandlerError.wrapping(error)), ...(replyTo === undefined ? {} : { replyTo }) });
        }
      }
    } else {
      // Shutdown runs once per worker, on this slot's instance (made now if the slot has none).
      const worker = await instanceFor(spec, context);
      instances.delete(spec.id);
      try {
        await worker.shutdown?.(context);
      } catch (error) {
        post({ t: "handlerError", what: "shutdown", error: errorToData(error) });
      }
    }
  } catch (error) {
    post({ t: "loadFailed", error: errorToData(error) });
  }
  const batch = out.take();
  context.close();
  return batch ? move(batch) : null;
}

const loggers = new Map<string, Logger>();

function loggerFor(spec: PoolTask["spec"]): Logger {
  let log = loggers.get(spec.id);
  if (!log) {
    const { debug, prefix } = spec.settings;
    log = createLogger("hopwire:worker", { debug, ...(prefix ? { prefix } : {}) }).child(addressFromString(spec.address).value);
    if (loggers.size >= MAX_INSTANCES) loggers.clear();
    loggers.set(spec.id, log);
  }
  return log;
}

function instanceFor(spec: PoolTask["spec"], context: PoolContext): Promise<Worker> {
  let instance = instances.get(spec.id);
  if (instance) {
    instances.delete(spec.id);
    instances.set(spec.id, instance);
    return instance;
  }
  instance = create(spec, context);
  instances.set(spec.id, instance);
  instance.catch(() => instances.delete(spec.id));
  if (instances.size > MAX_INSTANCES) instances.delete(instances.keys().next().value!);
  return instance;
}

async function create(spec: PoolTask["spec"], context: PoolContext): Promise<Worker> {
  const workerClass = await loadWorkerClass(spec.module, spec.name);
  let worker: Worker;
  try {
    worker = new workerClass(...decodeArgs(spec.args)) as Worker;
  } catch (cause) {
    throw new WorkerLoadError(`The constructor of ${spec.name} threw`, { cause });
  }
  if (typeof worker.handleMessage !== "function") throw new WorkerLoadError(`${spec.name} has no handleMessage method`);
  try {
    await worker.initialize?.(context);
  } catch (cause) {
    throw new WorkerLoadError(`${spec.name} failed to initialize`, { cause });
  }
  return worker;
}
