import { InvalidAddressError } from "../errors/errors.js";
import { ephemeralHex32, randomHex32 } from "../util/random-hex.js";
import { describeValue } from "../util/describe-type.js";

/** Transport type of addresses that live on this node. */
export const LOCAL = 0;

/**
 * The longest address value, in UTF-8 bytes: a host name and port, a worker's name or a
 * random hex address are far shorter. Decoders refuse longer ones from the network before
 * they allocate anything for them (a peer's 16 MiB address would otherwise be held as a
 * string for as long as its route lives).
 */
export const MAX_ADDRESS_VALUE_BYTES = 1024;

/**
 * An address: a transport type and a value, written "1#127.0.0.1:4000".
 * Type 0 (local) is written without its prefix when parsed from a string.
 */
export class Address {
  readonly type: number;
  readonly value: string;

  constructor(type: number, value: string) {
    if (!Number.isInteger(type) || type < 0 || type > 255) {
      throw new InvalidAddressError(`Address type must be an integer 0-255, got ${describeValue(type)}`);
    }
    if (typeof value !== "string" || value.length === 0) {
      throw new InvalidAddressError("Address value must be a non-empty string");
    }
    // At most 3 UTF-8 bytes per UTF-16 unit: only a longer value needs counting.
    if (value.length > MAX_ADDRESS_VALUE_BYTES / 3 && Buffer.byteLength(value) > MAX_ADDRESS_VALUE_BYTES) {
      throw new InvalidAddressError(`Address value must be at most ${MAX_ADDRESS_VALUE_BYTES} bytes in UTF-8, got ${Buffer.byteLength(value)}`);
    }
    this.type = type;
    this.value = value;
  }

  /** Parses "value" (local) or "type#value". */
  static parse(text: string): Address {
    return parseAddress(text);
  }

  /** A local address with 32 random hex characters. */
  static random(): Address {
    return randomAddress();
  }

  get isLocal(): boolean {
    return this.type === LOCAL;
  }

  /** True when both have the same transport type and value. */
  equals(other: Address): boolean {
    return this.type === other.type && this.value === other.value;
  }

  /** The key used by address tables: the value alone for local addresses. */
  get key(): string {
    return this.type === LOCAL ? this.value : `${this.type}#${this.value}`;
  }

  /** "type#value", e.g. "0#echoer", "1#127.0.0.1:4000". */
  toString(): string {
    return `${this.type}#${this.value}`;
  }

  /** The string form, so that JSON shows "type#value". */
  toJSON(): string {
    return this.toString();
  }
}

// Outside the class body, which must not name the class (see Route.EMPTY in route.ts).
function parseAddress(text: string): Address {
  if (typeof text !== "string") throw new InvalidAddressError(`Expected an address string, got ${typeof text}`);
  const trimmed = text.trim();
  const hash = trimmed.indexOf("#");
  if (hash < 0) return new Address(LOCAL, trimmed);
  const typeText = trimmed.slice(0, hash);
  if (!/^\d{1,3}$/.test(typeText)) throw new InvalidAddressError(`Invalid address type in "${text}"`);
  return new Address(Number(typeText), trimmed.slice(hash + 1));
}

/**
 * The Address whose `toString()` is `text`, read exactly: what the main thread hands a worker's
 * thread or pool slot. Not Address.parse, which trims (it reads what users type), so that an
 * address whose value has spaces at its ends would come back as another address.
 */
export function addressFromString(text: string): Address {
  const hash = text.indexOf("#");
  return new Address(Number(text.slice(0, hash)), text.slice(hash + 1));
}

function randomAddress(): Address {
  return new Address(LOCAL, randomHex32());
}

/** Address.random for a request's reply address, which lives one round trip (see ephemeralHex32). */
export function ephemeralAddress(): Address {
  return new Address(LOCAL, ephemeralHex32());
}

/** An Address, or its string form ("echoer", "1#127.0.0.1:4000"). */
export type AddressLike = Address | string;

/** The Address an AddressLike names (parses strings; throws InvalidAddressError on a malformed one). */
export function toAddress(address: AddressLike): Address {
  return address instanceof Address ? address : Address.parse(address);
}
