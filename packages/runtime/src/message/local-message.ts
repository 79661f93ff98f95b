import type { Route } from "../route/route.js";
import { copyBytes, viewOf } from "../util/bytes.js";

/**
 * Node-local metadata attached to a message by the worker that delivered it (e.g. a secure
 * channel's decryptor records the peer's identifier). It crosses threads inside one node
 * but is never serialised to the network.
 */
export type LocalInfo = Readonly<Record<string, unknown>>;

/** The empty local info of a message that carries none. */
export const NO_LOCAL_INFO: LocalInfo = Object.freeze({});

/**
 * A message as the router sees it: two routes, opaque payload bytes and local info.
 *
 * The payload may be given in parts (`LocalMessage.fromParts`): a producer whose bytes come
 * out in pieces (a cipher's output between a header and a tag) hands them on as they are. A
 * transport that writes parts (TCP writes each as its own piece of a writev) never joins
 * them; anything else that reads `payload` gets them joined once, on first use.
 *
 * It may also be given as a range of a buffer (`LocalMessage.fromRange`): a transport's
 * receiver hands on the bytes it read without making a view per message, and a relay that
 * passes the message on to another transport never makes one (`copyPayloadTo`); whoever
 * reads `payload` gets the view, made once.
 */
export class LocalMessage {
  #payload: Uint8Array | undefined;
  /** For a message given as a range: the buffer, and where the payload starts in it. */
  #source: Uint8Array | undefined;
  #start = 0;
  /** The payload's pieces, in order, when it was given in parts and not yet joined. */
  readonly parts: readonly Uint8Array[] | undefined;
  #length: number;

  constructor(
    readonly onwardRoute: Route,
    readonly returnRoute: Route,
    payload: Uint8Array,
    readonly localInfo: LocalInfo = NO_LOCAL_INFO,
    parts?: readonly Uint8Array[],
  ) {
    this.#payload = parts === undefined ? payload : undefined;
    this.parts = parts;
    this.#length = parts === undefined ? payload.length : lengthOf(parts);
  }

  /** The payload's length in bytes (without joining parts or making a view). */
  get payloadLength(): number {
    return this.#length;
  }

  /** A message whose payload is the concatenation of `parts` (not copied until someone reads `payload`). */
  static fromParts(onwardRoute: Route, returnRoute: Route, parts: readonly Uint8Array[], localInfo: LocalInfo = NO_LOCAL_INFO): LocalMessage {
    return new LocalMessage(onwardRoute, returnRoute, EMPTY, localInfo, parts);
  }

  /**
   * A message whose payload is `bytes[start, end)`, not copied (the bytes must not change
   * while the message lives); the view `payload` returns is made on first use.
   */
  static fromRange(onwardRoute: Route, returnRoute: Route, bytes: Uint8Array, start: number, end: number, localInfo: LocalInfo = NO_LOCAL_INFO): LocalMessage {
    if (!(start >= 0 && start <= end && end <= bytes.length)) throw new RangeError(`Cannot take [${start}, ${end}) of ${bytes.length} bytes`);
    const message = new LocalMessage(onwardRoute, returnRoute, EMPTY, localInfo);
    message.#setRange(bytes, start, end - start);
    return message;
  }

  #setRange(bytes: Uint8Array, start: number, length: number): void {
    this.#payload = undefined;
    this.#source = bytes;
    this.#start = start;
    this.#length = length;
  }

  /** The payload bytes (parts are joined here, once; a range becomes a view here, once). */
  get payload(): Uint8Array {
    const payload = this.#payload;
    if (payload !== undefined) return payload;
    const source = this.#source;
    return (this.#payload = source !== undefined ? viewOf(source, this.#start, this.payloadLength) : join(this.parts!, this.payloadLength));
  }

  /**
   * For a message given as a range (`fromRange`, and the copies made of one): the buffer its
   * payload lies in; the payload is `payloadSource[payloadStart, payloadStart + payloadLength)`.
   * Undefined otherwise. A writer may look at the bytes around the range (a relay's TCP
   * writer sends a run of frames it received, unchanged, as one piece of that buffer).
   */
  get payloadSource(): Uint8Array | undefined {
    return this.#source;
  }

  /** Where the payload starts in `payloadSource` (0 when there is none). */
  get payloadStart(): number {
    return this.#start;
  }

  /**
   * Copies the payload into `target` at `offset` (which must have room for `payloadLength`
   * bytes), from wherever it is held, without making a view of a range or joining parts.
   */
  copyPayloadTo(target: Uint8Array, offset: number): void {
    const source = this.#source;
    if (source !== undefined) copyBytes(target, offset, source, this.#start, this.#start + this.payloadLength);
    else if (this.#payload !== undefined) copyBytes(target, offset, this.#payload, 0, this.#payload.length);
    else {
      // Indexed, not for-of: a lent bytes body (two parts) takes this path once per message sent to a thread.
      const parts = this.parts!;
      for (let i = 0; i < parts.length; i++) {
        const part = parts[i]!;
        copyBytes(target, offset, part, 0, part.length);
        offset += part.length;
      }
    }
  }

  /** A copy with another onward route. */
  withOnwardRoute(onwardRoute: Route): LocalMessage {
    return this.#copy(onwardRoute, this.returnRoute, this.localInfo);
  }

  /** A copy with another return route. */
  withReturnRoute(returnRoute: Route): LocalMessage {
    return this.#copy(this.onwardRoute, returnRoute, this.localInfo);
  }

  /** A copy with other local info (never sent over a transport). */
  withLocalInfo(localInfo: LocalInfo): LocalMessage {
    return this.#copy(this.onwardRoute, this.returnRoute, localInfo);
  }

  /** A copy with another payload. */
  withPayload(payload: Uint8Array): LocalMessage {
    return new LocalMessage(this.onwardRoute, this.returnRoute, payload, this.localInfo);
  }

  /** The same payload (still in parts or a range, if it is) under other routes or local info. */
  #copy(onwardRoute: Route, returnRoute: Route, localInfo: LocalInfo): LocalMessage {
    const payload = this.#payload;
    if (payload !== undefined) return new LocalMessage(onwardRoute, returnRoute, payload, localInfo);
    if (this.parts !== undefined) return new LocalMessage(onwardRoute, returnRoute, EMPTY, localInfo, this.parts);
    const copy = new LocalMessage(onwardRoute, returnRoute, EMPTY, localInfo);
    copy.#setRange(this.#source!, this.#start, this.payloadLength);
    return copy;
  }
}

const EMPTY = new Uint8Array(0);

function lengthOf(parts: readonly Uint8Array[]): number {
  let length = 0;
  for (let i = 0; i < parts.length; i++) length += parts[i]!.length;
  return length;
}

/** The parts in one Buffer (a payload read from a socket is a Buffer, joined from its pieces or not). */
function join(parts: readonly Uint8Array[], length: number): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  return Buffer.concat(parts, length);
}
