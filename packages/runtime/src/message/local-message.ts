import type { Route } from "../route/route.js";

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
 */
export class LocalMessage {
  #payload: Uint8Array | undefined;
  /** The payload's pieces, in order, when it was given in parts and not yet joined. */
  readonly parts: readonly Uint8Array[] | undefined;
  /** The payload's length in bytes (without joining parts). */
  readonly payloadLength: number;

  constructor(
    readonly onwardRoute: Route,
    readonly returnRoute: Route,
    payload: Uint8Array,
    readonly localInfo: LocalInfo = NO_LOCAL_INFO,
    parts?: readonly Uint8Array[],
  ) {
    this.#payload = parts === undefined ? payload : undefined;
    this.parts = parts;
    this.payloadLength = parts === undefined ? payload.length : lengthOf(parts);
  }

  /** A message whose payload is the concatenation of `parts` (not copied until someone reads `payload`). */
  static fromParts(onwardRoute: Route, returnRoute: Route, parts: readonly Uint8Array[], localInfo: LocalInfo = NO_LOCAL_INFO): LocalMessage {
    return new LocalMessage(onwardRoute, returnRoute, EMPTY, localInfo, parts);
  }

  /** The payload bytes (parts are joined here, once). */
  get payload(): Uint8Array {
    return (this.#payload ??= join(this.parts!, this.payloadLength));
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

  /** The same payload (still in parts, if it is) under other routes or local info. */
  #copy(onwardRoute: Route, returnRoute: Route, localInfo: LocalInfo): LocalMessage {
    const payload = this.#payload;
    return payload === undefined
      ? new LocalMessage(onwardRoute, returnRoute, EMPTY, localInfo, this.parts)
      : new LocalMessage(onwardRoute, returnRoute, payload, localInfo);
  }
}

const EMPTY = new Uint8Array(0);

function lengthOf(parts: readonly Uint8Array[]): number {
  let length = 0;
  for (const part of parts) length += part.length;
  return length;
}

function join(parts: readonly Uint8Array[], length: number): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(length);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
