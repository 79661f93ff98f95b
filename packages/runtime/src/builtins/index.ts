export { askerWentAway } from "./asker-went-away.js";
export { Echoer } from "./echoer.js";
export { Hop } from "./hop.js";
export { Relay } from "./relay.js";
