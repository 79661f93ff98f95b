/**
 * @hopwire/relay: reach a node behind NAT through a relay node (Ockam's forwarding service
 * and RemoteRelay). The relay node runs {@link startRelayService}; the node behind NAT
 * connects out to it and keeps a name registered with {@link createRemoteRelay}; others
 * reach it with `route(connectionToRelay, "forward_to_<name>", ...)`.
 */
export { startRelayService, RelayService, DEFAULT_MAX_NAMES_PER_CHANNEL, DEFAULT_MAX_NAMES_PER_IDENTITY, DEFAULT_MAX_NAMES, DEFAULT_CONNECTION_STALL_MS, type RelayServiceOptions, type RelayServiceEvent, type Registration } from "./service/relay-service.js";
export { allowRegistrations, allowAnyIdentity, ANY_RELAY_NAME, type RelayPolicy } from "./service/relay-policy.js";
export {
  createRemoteRelay,
  RemoteRelay,
  DEFAULT_RELAY_LISTENER_ADDRESS,
  DEFAULT_HEARTBEAT_INTERVAL_MS,
  DEFAULT_REPLY_TIMEOUT_MS,
  type RemoteRelayOptions,
  type RemoteRelayEvent,
} from "./remote/remote-relay.js";
export { tcpRelayConnector, type RelayConnection, type RelayConnector } from "./remote/relay-connection.js";
export { backoffDelay, DEFAULT_BACKOFF_INITIAL_MS, DEFAULT_BACKOFF_MAX_MS, type BackoffOptions } from "./remote/backoff.js";
export {
  DEFAULT_RELAY_SERVICE_ADDRESS,
  FORWARDER_PREFIX,
  RELAY_NAME_PATTERN,
  forwarderAddress,
  isRelayName,
  type ForwardOver,
  type RelayRequest,
  type RelayReply,
} from "./protocol.js";
export {
  RelayRegistrationRefusedError,
  RelayNotSecureError,
  RelayNameInvalidError,
  RelayUnreachableError,
  RelayReplacedError,
  RelayStoppedError,
  RelayRegistrantStalledError,
  type RefusalCode,
} from "./errors.js";
