// This node routes a message through a hop to an echoer, and the reply back through the hop.
import { node, route } from "@hopwire/runtime";
import { Echoer } from "./hello/echoer.js";
import { Hop } from "./hello/hop.js";

const n = await node();

// Start a Hop at "h1" and an Echoer at "echoer", each on its own thread.
await n.startWorker("h1", Hop);
await n.startWorker("echoer", Echoer);

// Send a message to "echoer" by way of "h1".
await n.send(route("h1", "echoer"), "Hello Ockam!");

// Wait for the reply: the echoer sends it to its return route, "h1 => app".
const reply = await n.receive<string>();
console.log(`App Received: ${reply.body}`); // should print "Hello Ockam!"

await n.stop();
