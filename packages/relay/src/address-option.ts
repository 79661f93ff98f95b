import { Address, describeValue, InvalidOptionError, toAddress, type AddressLike } from "@hopwire/runtime";

/**
 * An address option (`address`, `listener`, `service`): `fallback` when left out (undefined),
 * else a string or an Address. Anything else, `null` included, is an InvalidOptionError naming
 * the option: null was taken as "the default" here while every other option refused it.
 *
 * @param what how the options are named in the message, e.g. "relay service options"
 */
export function addressOption(value: unknown, option: string, fallback: AddressLike, what: string): Address {
  if (value === undefined) return toAddress(fallback);
  if (typeof value !== "string" && !(value instanceof Address)) {
    throw new InvalidOptionError(`${what}: ${option} must be an address (a string such as "api", or an Address), got ${describeValue(value)}`, { option });
  }
  return toAddress(value);
}
