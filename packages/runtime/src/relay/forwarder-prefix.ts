/**
 * The prefix of a relay service's forwarder addresses, `forward_to_<name>` (Ockam's convention;
 * @hopwire/relay makes them). Here so that a route through one can be recognised anywhere: a
 * handshake that times out through a relay says its name may not be registered.
 */
export const FORWARDER_PREFIX = "forward_to_";
