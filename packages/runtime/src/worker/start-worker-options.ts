import { InvalidOptionError } from "../errors/errors.js";
import { describeValue } from "../util/describe-type.js";
import { checkOptionKeys, isPlainObject, notAnOptionsObjectError, optionKeys } from "../options/plain-options.js";
import type { StartWorkerOptions } from "./worker.js";

const START_WORKER_OPTIONS = optionKeys<StartWorkerOptions>({ placement: true, args: true, aliases: true, mailbox: true });

/**
 * Checks StartWorkerOptions where the caller calls startWorker or startProcessor, on the
 * main thread and on a worker's thread (whose request the main thread would otherwise
 * receive with only the keys it knows: a misspelt `placment` was dropped there, not
 * rejected). A plain object with known keys only; `args` and `aliases` arrays; a known
 * placement (the mailbox limits are checked where the node core resolves them). Throws InvalidOptionError
 * naming the option. `undefined` passes.
 */
export function checkStartWorkerOptions(options: unknown): void {
  if (options === undefined) return;
  if (!isPlainObject(options)) throw notAnOptionsObjectError('startWorker options must be a plain object, e.g. { placement: "pool" }', options);
  checkOptionKeys(options, START_WORKER_OPTIONS, "startWorker options");
  if (options.args !== undefined && !Array.isArray(options.args)) {
    throw new InvalidOptionError("startWorker options: args must be an array of constructor arguments", { option: "args" });
  }
  if (options.aliases !== undefined && !Array.isArray(options.aliases)) {
    throw new InvalidOptionError("startWorker options: aliases must be an array of addresses", { option: "aliases" });
  }
  const placement = options.placement;
  if (placement !== undefined && placement !== "main" && placement !== "thread" && placement !== "pool") {
    throw new InvalidOptionError(`placement must be "thread", "pool" or "main", got ${describeValue(placement)}`, { option: "placement" });
  }
}
