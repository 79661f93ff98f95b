// This node routes a message through many hops, and the reply back through all of them.
import { node, route } from "@hopwire/runtime";
import { Echoer } from "./hello/echoer.js";
import { Hop } from "./hello/hop.js";

const n = await node();

// Start three hops and an echoer: five contexts, four threads, one route.
await n.startWorker("h1", Hop);
await n.startWorker("h2", Hop);
await n.startWorker("h3", Hop);
await n.startWorker("echoer", Echoer);

// Send a message to "echoer" by way of "h1", "h2" and "h3" (a route can also be written "h1 => h2 => h3 => echoer").
await n.send(route("h1", "h2", "h3", "echoer"), "Hello Ockam!");

// The reply comes back along "h3 => h2 => h1 => app".
const reply = await n.receive<string>();
console.log(`App Received: ${reply.body}`); // should print "Hello Ockam!"

await n.stop();
