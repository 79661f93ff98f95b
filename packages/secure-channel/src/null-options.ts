import { InvalidOptionError } from "./errors.js";

/**
 * The options rule of every package (`undefined` is the default, `null` an InvalidOptionError
 * naming the option: docs/errors.md) for the low-level classes whose options have no check of their own: the
 * transport codec, the handshakes, crypto threads. `values` is undefined or an object none of
 * whose keys is null. Here, not the runtime's helpers: crypto threads load this package's pure
 * parts without the runtime's main module. Null was taken as the default by some options and
 * failed with a TypeError in others (`new TransportEncryptor(key, null)`).
 *
 * @param what how the options are named in the message, e.g. "TransportEncryptor options"
 */
export function checkNoNullOptions(values: unknown, what: string): void {
  if (values === undefined) return;
  if (values === null || typeof values !== "object") {
    throw new InvalidOptionError(`${what} must be an object (leave them out for the defaults), got ${values === null ? "null" : typeof values}`, { option: "options" });
  }
  for (const key of Object.keys(values)) {
    if ((values as Record<string, unknown>)[key] === null) {
      throw new InvalidOptionError(`${what}: ${key} must not be null; leave it out (or pass undefined) for its default`, { option: key });
    }
  }
}
