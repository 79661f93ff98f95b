import { createRequire } from "node:module";
import type * as Msgpackr from "msgpackr";
import { Address } from "../address/address.js";
import { Route, addressesOf, adoptRoute } from "../route/route.js";

/**
 * Records are off so that every envelope is plain msgpack that another implementation can
 * read. Structured clones are off on both sides: msgpackr decodes their references unless told
 * not to, and a 320-byte body of references to references (a graph of 2^24 paths) held a
 * thread for seconds, re-encoded to 32 MiB (an adversarial review, session 55).
 */
const PLAIN_MSGPACK = { useRecords: false, moreTypes: false, mapsAsObjects: true, structuredClone: false } as const;

/** msgpack extension types under which an Address and a Route travel inside bodies and worker arguments. */
export const ADDRESS_EXTENSION = 0x48;
export const ROUTE_EXTENSION = 0x49;

interface Codecs {
  packr: Msgpackr.Packr;
  copyingUnpackr: Msgpackr.Packr;
  /** Made on first need: see packValue. */
  widePackr?: Msgpackr.Packr;
}

let codecs: Codecs | undefined;

/**
 * The runtime's one msgpackr instance (records off, functions refused), for bodies other
 * than bytes, local info and thread operations.
 *
 * msgpackr is loaded on first use, not with the runtime: it costs ≈ 0.4-0.75 MB of heap in
 * every process and thread that loads it (with its native string decoder, msgpackr-extract),
 * and a process that only moves bytes (a relay node, a stream of bytes bodies) never needs
 * it. A small heap matters here: below 8 MB of old generation V8 never starts incremental
 * marking (docs/architecture.md, "Why the mark-compacts start near 8 MB"). The first body
 * that needs it pays its load once (≈ 10 ms of CPU).
 */
export function packr(): Msgpackr.Packr {
  return (codecs ??= loadCodecs()).packr;
}

/**
 * Packs `value` with `packr`, or, if that refuses it, with a packer that sizes each map from
 * its keys. msgpackr's default writer puts a 16-bit size before every object, so it refuses an
 * object of 65,536 keys or more; the other writer counts each object's keys first (slower for
 * every object, so it is only the fallback). A value refused by both throws the second error.
 */
export function packValue(value: unknown): Uint8Array {
  const current = (codecs ??= loadCodecs());
  try {
    return current.packr.pack(value);
  } catch {
    current.widePackr ??= newPackr({ variableMapSize: true });
    return current.widePackr.pack(value);
  }
}

/**
 * `packr`'s settings, but the bytes values it decodes are copies rather than views into the
 * bytes decoded: for local info, which outlives the batch it was decoded from (a thread's
 * reader reuses a repeated head's local info, and a batch passed on to another thread is
 * transferred away: a view into it would be emptied). Local info is small; only its bytes
 * values are copied.
 */
export function copyingUnpackr(): Msgpackr.Packr {
  return (codecs ??= loadCodecs()).copyingUnpackr;
}

/**
 * msgpackr's one-file CommonJS build: it costs less CPU than the package's ES module entry
 * (a dozen modules): the runtime's import took 91-96 ms instead of 101-104, a thread start
 * 103-106 instead of 105-108. Same encoder, same bytes, and the same native string decoding
 * (msgpackr-extract): the build without it loads faster still (87-92 ms, 96-101 ms) but
 * decoded a body of 50 short strings in 3.9 µs instead of 0.9. An application that imports
 * msgpackr itself gets its own instance, untouched by our extensions.
 */
function loadCodecs(): Codecs {
  const { addExtension, Packr } = msgpackr();
  const packr = newPackr({});
  const copyingUnpackr = new Packr({ ...PLAIN_MSGPACK, copyBuffers: true });
  // Addresses and routes keep their class when they cross a thread (a worker's constructor
  // arguments, a message body): without these they would be packed through toJSON as strings.
  // msgpackr's extensions are process-wide, which is what we want: every thread that loads
  // the runtime decodes them the same way.
  addExtension({
    Class: Address,
    type: ADDRESS_EXTENSION,
    write: (address: Address) => [address.type, address.value],
    read: (data: unknown) => {
      if (!Array.isArray(data) || typeof data[0] !== "number" || typeof data[1] !== "string") {
        throw new TypeError("Malformed address extension");
      }
      return new Address(data[0], data[1]);
    },
  });
  addExtension({
    Class: Route,
    type: ROUTE_EXTENSION,
    write: (r: Route) => addressesOf(r),
    read: (data: unknown) => {
      if (!Array.isArray(data) || !data.every((a) => a instanceof Address)) throw new TypeError("Malformed route extension");
      // A fresh array msgpackr just built: the route keeps it.
      return adoptRoute(data as Address[]);
    },
  });
  return { packr, copyingUnpackr };
}

function msgpackr(): typeof Msgpackr {
  return createRequire(import.meta.url)("msgpackr") as typeof Msgpackr;
}

/** A packer with the runtime's settings (and `extra`): functions refused. */
function newPackr(extra: Msgpackr.Options): Msgpackr.Packr {
  return new (msgpackr().Packr)({
    ...PLAIN_MSGPACK,
    ...extra,
    // msgpackr would write a function as nil (it would arrive as undefined): refuse it instead,
    // at no cost to values that hold none. The caller turns this into an EncodeError.
    writeFunction: () => {
      throw new TypeError("A function cannot be encoded");
    },
  });
}
