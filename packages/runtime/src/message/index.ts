export { LocalMessage, NO_LOCAL_INFO, type LocalInfo } from "./local-message.js";
export { Routed } from "./routed.js";
