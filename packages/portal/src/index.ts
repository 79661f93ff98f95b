/**
 * @hopwire/portal: TCP portals (Ockam's tcp-inlet and tcp-outlet). An inlet listens on a
 * local port and carries each client connection, as a stream of its own, along a route
 * (usually through a secure channel) to an outlet, which connects to its target and
 * carries the bytes back. See docs/portals.md.
 */
export { createInlet, EARLY_DATA_ASK_AGAIN_MS, Inlet, type InletStreamListener } from "./inlet/index.js";
export { createOutlet, Outlet } from "./outlet/index.js";
export type { StreamClosedListener } from "./stream/index.js";
export {
  CHANNEL_WINDOW_GROWTH_BYTES,
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_MAX_STREAM_WINDOW_BYTES,
  DEFAULT_MAX_STREAMS,
  DEFAULT_MAX_STREAMS_PER_CHANNEL,
  DEFAULT_MAX_OPENS_PER_SECOND_PER_CHANNEL,
  DEFAULT_OPEN_TIMEOUT_MS,
  DEFAULT_OUTLET_ADDRESS,
  DEFAULT_STREAM_WINDOW_BYTES,
  STREAM_WINDOW_GROWTH_BUDGET_BYTES,
  type InletOptions,
  type OutletOptions,
  type PortalStreamOptions,
} from "./options.js";
export {
  PortalError,
  PortalListenError,
  PortalOpenTimeoutError,
  PortalProtocolError,
  PortalResetError,
  PortalRouteClosedError,
  PortalStreamLimitError,
  PortalTargetNotAllowedError,
  PortalTargetUnreachableError,
} from "./errors.js";
export { EARLY_DATA_BYTES, MAX_DATA_BYTES } from "./protocol/index.js";
