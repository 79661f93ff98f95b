export { Router, type TransportRoute } from "./router.js";
export type { Mailbox } from "./mailbox.js";
