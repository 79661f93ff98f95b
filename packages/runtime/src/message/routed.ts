import type { Address } from "../address/address.js";
import { decodeBody } from "../codec/body.js";
import type { Route } from "../route/route.js";
import type { LocalInfo, LocalMessage } from "./local-message.js";

const UNDECODED = Symbol("undecoded");

/** A message delivered to a worker: its routes, raw payload, local info and decoded body. */
export class Routed<T = unknown> {
  #body: T | typeof UNDECODED = UNDECODED;

  constructor(
    readonly message: LocalMessage,
    /** The address of the worker this message was delivered to. */
    readonly destination: Address,
  ) {}

  /**
   * The payload decoded as msgpack (strings, bytes, any msgpack value); decoded once, lazily.
   * Throws DecodeError for a payload that is not a body encodeBody writes, or that would decode
   * to more than DEFAULT_MAX_DECODED_BODY_BYTES of objects (decode `payload` with decodeBody
   * and a larger `maxDecodedBytes` to take it from a sender you trust).
   */
  get body(): T {
    if (this.#body === UNDECODED) this.#body = decodeBody(this.message.payload) as T;
    return this.#body;
  }

  get payload(): Uint8Array {
    return this.message.payload;
  }

  get onwardRoute(): Route {
    return this.message.onwardRoute;
  }

  get returnRoute(): Route {
    return this.message.returnRoute;
  }

  get localInfo(): LocalInfo {
    return this.message.localInfo;
  }

  /** The first hop of the return route: where a reply goes first. */
  get sender(): Address | undefined {
    return this.message.returnRoute.at(0);
  }
}
