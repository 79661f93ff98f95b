export { LocalMessage, NO_LOCAL_INFO, type LocalInfo } from "./local-message.js";
export { MessageRun } from "./message-run.js";
export { Routed } from "./routed.js";
