import type { Route } from "../route/route.js";

/**
 * Node-local metadata attached to a message by the worker that delivered it (e.g. a secure
 * channel's decryptor records the peer's identifier). It crosses threads inside one node
 * but is never serialised to the network.
 */
export type LocalInfo = Readonly<Record<string, unknown>>;

/** The empty local info of a message that carries none. */
export const NO_LOCAL_INFO: LocalInfo = Object.freeze({});

/** A message as the router sees it: two routes, opaque payload bytes and local info. */
export class LocalMessage {
  constructor(
    readonly onwardRoute: Route,
    readonly returnRoute: Route,
    readonly payload: Uint8Array,
    readonly localInfo: LocalInfo = NO_LOCAL_INFO,
  ) {}

  /** A copy with another onward route. */
  withOnwardRoute(onwardRoute: Route): LocalMessage {
    return new LocalMessage(onwardRoute, this.returnRoute, this.payload, this.localInfo);
  }

  /** A copy with another return route. */
  withReturnRoute(returnRoute: Route): LocalMessage {
    return new LocalMessage(this.onwardRoute, returnRoute, this.payload, this.localInfo);
  }

  /** A copy with other local info (never sent over a transport). */
  withLocalInfo(localInfo: LocalInfo): LocalMessage {
    return new LocalMessage(this.onwardRoute, this.returnRoute, this.payload, localInfo);
  }

  /** A copy with another payload. */
  withPayload(payload: Uint8Array): LocalMessage {
    return new LocalMessage(this.onwardRoute, this.returnRoute, payload, this.localInfo);
  }
}
