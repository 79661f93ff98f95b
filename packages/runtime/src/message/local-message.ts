import type { Route } from "../route/route.js";

/**
 * Node-local metadata attached to a message by the worker that delivered it (e.g. a secure
 * channel's decryptor records the peer's identifier). It crosses threads inside one node
 * but is never serialised to the network.
 */
export type LocalInfo = Readonly<Record<string, unknown>>;

export const NO_LOCAL_INFO: LocalInfo = Object.freeze({});

/** A message as the router sees it: two routes, opaque payload bytes and local info. */
export class LocalMessage {
  constructor(
    readonly onwardRoute: Route,
    readonly returnRoute: Route,
    readonly payload: Uint8Array,
    readonly localInfo: LocalInfo = NO_LOCAL_INFO,
  ) {}

  withOnwardRoute(onwardRoute: Route): LocalMessage {
    return new LocalMessage(onwardRoute, this.returnRoute, this.payload, this.localInfo);
  }

  withReturnRoute(returnRoute: Route): LocalMessage {
    return new LocalMessage(this.onwardRoute, returnRoute, this.payload, this.localInfo);
  }

  withLocalInfo(localInfo: LocalInfo): LocalMessage {
    return new LocalMessage(this.onwardRoute, this.returnRoute, this.payload, localInfo);
  }

  withPayload(payload: Uint8Array): LocalMessage {
    return new LocalMessage(this.onwardRoute, this.returnRoute, payload, this.localInfo);
  }
}
