export { startRelay, Relay, type RelayOptions } from "./relay.js";
