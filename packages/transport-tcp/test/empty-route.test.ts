import { afterEach, expect, it } from "vitest";
import { InvalidRouteError, route, type Context, type Node, type Routed } from "@hopwire/runtime";
import { startNode, startResponder } from "./support.js";

// A context remembers the mailbox of its last local next hop. After a send over a transport
// address (not local: not remembered) the "next hop" it compared with was undefined, as is an
// empty route's: a send or trySend along an empty route went to the last local worker instead
// of failing with InvalidRouteError (a review's catch, session 48).
const nodes: Node[] = [];
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.stop()));
});

it("an empty route after a send over a transport address fails with InvalidRouteError, and reaches no worker", async () => {
  const responder = await startResponder("responder");
  const sender = await startNode("sender");
  nodes.push(responder.node, sender.node);
  const local: unknown[] = [];
  await sender.node.startWorker("local", { handleMessage: (_ctx: Context, msg: Routed) => void local.push(msg.body) }, { placement: "main" });
  const overTcp = route(`1#${responder.listener.address}`, "echoer");
  // A few rounds: the first sends over TCP open a connection (the router changes, and with it
  // what the context remembers); the later ones find nothing changed.
  for (let round = 0; round < 4; round++) {
    await sender.node.send("local", round);
    await sender.node.send(overTcp, round);
    expect(() => sender.node.trySend(route(), "empty")).toThrow(InvalidRouteError);
    await expect(sender.node.send(route(), "empty")).rejects.toBeInstanceOf(InvalidRouteError);
  }
  await sender.node.send("local", "last");
  await expect.poll(() => local.at(-1), { timeout: 10_000 }).toBe("last");
  expect(local).toEqual([0, 1, 2, 3, "last"]);
});
