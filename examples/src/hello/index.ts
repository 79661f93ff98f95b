export { Echoer } from "./echoer.js";
export { Hop } from "./hop.js";
