// This node creates a worker, sends it a message, and receives a reply.
import { node } from "@hopwire/runtime";
import { Echoer } from "./hello/echoer.js";

const n = await node();

// Start a worker, of type Echoer, at address "echoer". A worker class runs on a thread of
// its own unless told otherwise ({ placement: "pool" } or { placement: "main" }).
await n.startWorker("echoer", Echoer);

// Send a message to the worker at address "echoer" and wait for its reply.
const reply = await n.sendAndReceive<string>("echoer", "Hello Ockam!");
console.log(`App Received: ${reply}`); // should print "Hello Ockam!"

// Stop all workers (each one's shutdown runs in its thread), stop the node, clean up.
await n.stop();
