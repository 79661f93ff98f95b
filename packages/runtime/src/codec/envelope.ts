import { Address } from "../address/address.js";
import { DecodeError } from "../errors/errors.js";
import { LocalMessage, NO_LOCAL_INFO, type LocalInfo } from "../message/local-message.js";
import { Route } from "../route/route.js";
import { packr } from "./packr.js";

/**
 * Envelopes are msgpack arrays whose last element is the payload as a msgpack bin:
 *   network: [onwardRoute, returnRoute, payload]
 *   local (between threads of one node): [onwardRoute, returnRoute, localInfo, payload]
 * A route is an array of [type, value] pairs. Because the payload comes last, an envelope
 * can be written as a small head followed by the untouched payload bytes, so a relay
 * rewrites routes without copying payloads.
 */
type WireRoute = [number, string][];

const BIN32 = 0xc6;

function wireRoute(route: Route): WireRoute {
  return route.addresses.map((a) => [a.type, a.value]);
}

/** The bytes that precede the payload in an envelope (array header … bin32 header). */
export function encodeEnvelopeHead(message: LocalMessage, scope: "network" | "local"): Uint8Array {
  const parts: Uint8Array[] = [
    Uint8Array.of(scope === "network" ? 0x93 : 0x94),
    packr.pack(wireRoute(message.onwardRoute)),
    packr.pack(wireRoute(message.returnRoute)),
  ];
  if (scope === "local") parts.push(packr.pack(message.localInfo));
  let length = 5;
  for (const p of parts) length += p.length;
  const head = new Uint8Array(length);
  let offset = 0;
  for (const p of parts) {
    head.set(p, offset);
    offset += p.length;
  }
  head[offset] = BIN32;
  new DataView(head.buffer).setUint32(offset + 1, message.payload.length);
  return head;
}

/** A whole envelope in one fresh buffer (head + payload). */
export function encodeEnvelope(message: LocalMessage, scope: "network" | "local"): Uint8Array {
  const head = encodeEnvelopeHead(message, scope);
  const out = new Uint8Array(head.length + message.payload.length);
  out.set(head, 0);
  out.set(message.payload, head.length);
  return out;
}

/**
 * Decodes an envelope. The payload is returned as a view into `bytes` (no copy).
 * Network envelopes never carry local info: a 4-element envelope from the network is rejected.
 */
export function decodeEnvelope(bytes: Uint8Array, scope: "network" | "local"): LocalMessage {
  let value: unknown;
  try {
    value = packr.unpack(bytes);
  } catch (cause) {
    throw new DecodeError("The envelope is not valid msgpack", { cause });
  }
  const expected = scope === "network" ? 3 : 4;
  if (!Array.isArray(value) || value.length !== expected) {
    throw new DecodeError(`An envelope must be an array of ${expected} elements`);
  }
  const payload = value[expected - 1];
  if (!(payload instanceof Uint8Array)) throw new DecodeError("The envelope's payload must be a byte string");
  const localInfo = scope === "local" ? decodeLocalInfo(value[2]) : NO_LOCAL_INFO;
  return new LocalMessage(decodeRoute(value[0], "onward"), decodeRoute(value[1], "return"), payload, localInfo);
}

function decodeRoute(value: unknown, which: string): Route {
  if (!Array.isArray(value)) throw new DecodeError(`The ${which} route must be an array`);
  const addresses: Address[] = [];
  for (const entry of value) {
    if (!Array.isArray(entry) || entry.length !== 2 || typeof entry[0] !== "number" || typeof entry[1] !== "string") {
      throw new DecodeError(`The ${which} route holds a malformed address`);
    }
    try {
      addresses.push(new Address(entry[0], entry[1]));
    } catch (cause) {
      throw new DecodeError(`The ${which} route holds an invalid address`, { cause });
    }
  }
  return new Route(addresses);
}

function decodeLocalInfo(value: unknown): LocalInfo {
  if (value === null || value === undefined) return NO_LOCAL_INFO;
  if (typeof value !== "object" || Array.isArray(value)) throw new DecodeError("Local info must be a map");
  return value as LocalInfo;
}
