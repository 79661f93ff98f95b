// This program creates and then immediately stops a node.
import { node } from "@hopwire/runtime";

// Create a node. It is itself a context, with the address "app".
const n = await node();
console.log(`Node started, its context has the address ${n.address.toString()}`);

// Stop all workers, stop the node, clean up.
await n.stop();
console.log("Node stopped");
