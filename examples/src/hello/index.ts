export { Echoer } from "./echoer.js";
export { Hop } from "./hop.js";
export { Relay } from "./relay.js";
export { ChunkCounter, type ChunkCount } from "./chunk-counter.js";
