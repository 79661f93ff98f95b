export { startRelay, RelayMailbox, type RelayOptions } from "./relay.js";
