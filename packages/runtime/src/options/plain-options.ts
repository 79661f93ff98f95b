import { InvalidOptionError } from "../errors/errors.js";

/** What to do with one key of a plain options object that has no `with<Key>` setter. */
export type PlainOptionHandlers<B> = Record<string, (builder: B, value: unknown) => void>;

/** True for `{ ... }` literals and `Object.create(null)`, not for class instances or arrays. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * Applies a plain options object to an options builder, so that `{ rekeyInterval: 10 }`
 * means `.withRekeyInterval(10)`: each key calls the builder's `with<Key>` setter (which
 * validates it), or a handler given for it; `undefined` values are skipped. A key with
 * neither is an InvalidOptionError that names it and lists the known ones.
 *
 * @param what how the options are named in errors, e.g. "createSecureChannel options"
 */
export function applyPlainOptions<B extends object>(builder: B, values: Record<string, unknown>, what: string, handlers: PlainOptionHandlers<B> = {}): B {
  for (const key of Object.keys(values)) {
    const value = values[key];
    if (value === undefined) continue;
    const handler = handlers[key];
    if (handler) {
      handler(builder, value);
      continue;
    }
    const setter = (builder as Record<string, unknown>)[`with${key.charAt(0).toUpperCase()}${key.slice(1)}`];
    if (typeof setter !== "function" || !/^[a-z][A-Za-z0-9]*$/.test(key)) {
      throw new InvalidOptionError(`${what}: unknown option "${key}"; known options: ${knownOptions(builder, handlers).join(", ")}`);
    }
    (setter as (value: unknown) => unknown).call(builder, value);
  }
  return builder;
}

/** The option names a builder accepts: its `with<Key>` setters and the extra handlers. */
function knownOptions(builder: object, handlers: PlainOptionHandlers<never>): string[] {
  const names = new Set(Object.keys(handlers));
  for (let proto = Object.getPrototypeOf(builder) as object | null; proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto) as object | null) {
    for (const name of Object.getOwnPropertyNames(proto)) {
      if (/^with[A-Z]/.test(name) && typeof (builder as Record<string, unknown>)[name] === "function") names.add(name.charAt(4).toLowerCase() + name.slice(5));
    }
  }
  return [...names].sort();
}
