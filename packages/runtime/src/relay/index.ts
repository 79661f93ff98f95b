export { startRelay, RelayMailbox, type RelayOptions } from "./relay.js";
export { FORWARDER_PREFIX } from "./forwarder-prefix.js";
