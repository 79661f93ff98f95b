// Every public function that takes a node refuses what is not one at the call, with an
// InvalidOptionError that names the function and says what was passed instead (it was a
// TypeError from deep inside, e.g. "Cannot read properties of undefined (reading 'stopped')").
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InvalidOptionError, node, route, startRelay, type Context, type Node, type Routed } from "@hopwire/runtime";
import { createTcpTransport } from "@hopwire/transport-tcp";
import { createInlet, createOutlet } from "@hopwire/portal";
import { allowAnyIdentity, createRemoteRelay, startRelayService } from "@hopwire/relay";
import { createIdentity } from "@hopwire/secure-channel";

let n: Node;
beforeAll(async () => {
  n = await node({ name: "node-arguments" });
});
afterAll(async () => {
  await n.stop();
});

/** Each entry point, called with `value` where its node goes (the other arguments valid or irrelevant: the node is checked first). */
const entryPoints: [string, (value: unknown) => Promise<unknown>][] = [
  ["createTcpTransport", (value) => createTcpTransport(value as Node)],
  ["startRelay", (value) => startRelay(value as Node, "forward", route("next"))],
  ["createInlet", (value) => createInlet(value as Node, { listen: "127.0.0.1:0", route: route("outlet") })],
  ["createOutlet", (value) => createOutlet(value as Node, { to: "127.0.0.1:1" })],
  ["startRelayService", (value) => startRelayService(value as Node, { policy: allowAnyIdentity() })],
  ["createRemoteRelay", async (value) => createRemoteRelay(value as Node, { name: "bob", identity: await createIdentity(), connect: () => Promise.reject(new Error("unused")) } as never)],
];

async function refusal(call: Promise<unknown>): Promise<InvalidOptionError> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(InvalidOptionError);
  return error as InvalidOptionError;
}

describe.each(entryPoints)("%s checks its node", (what, call) => {
  it("refuses nothing, a Promise of a node and a number, naming itself and the argument", async () => {
    const missing = await refusal(call(undefined));
    expect(missing.message).toBe(`${what}: node is undefined; pass the node (from \`await node()\`)`);
    expect(missing.option).toBe("node");
    expect((await refusal(call(Promise.resolve(n)))).message).toBe(`${what}: node is a Promise; await it first (\`await node()\`)`);
    expect((await refusal(call(7))).message).toBe(`${what}: node must be a Node (from \`await node()\`), got a number`);
    expect((await refusal(call({ router: {} }))).message).toBe(`${what}: node must be a Node (from \`await node()\`), got an object`);
  });

  it("refuses a worker's context: it starts workers but is not the node", async () => {
    let seen: unknown;
    const address = `w-${what}`;
    await n.startWorker(
      address,
      {
        handleMessage: async (ctx: Context, m: Routed) => {
          seen = await call(ctx).catch((e: unknown) => e);
          await ctx.send(m.returnRoute, "done");
        },
      },
      { placement: "main" },
    );
    await n.sendAndReceive(address, "go");
    expect(seen).toBeInstanceOf(InvalidOptionError);
    expect((seen as Error).message).toMatch(new RegExp(`^${what}: node is a worker's context, not the node; \\w+ run on the node's main thread: pass the Node`));
  });
});
