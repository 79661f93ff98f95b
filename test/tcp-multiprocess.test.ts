import { afterEach, describe, expect, it } from "vitest";
import { fileURLToPath } from "node:url";
import { killAll, portOf as port, startChild, type Child } from "./support/children.js";

// Real child processes running the compiled packages (the tests assume `tsc -b` ran), each
// in its own process group, killed after every test whatever happened.
const fixtures = fileURLToPath(new URL("./fixtures/", import.meta.url));

afterEach(() => killAll());

function start(script: string, ...args: string[]): Child {
  return startChild(`${fixtures}tcp/${script}`, args);
}

async function listening(child: Child): Promise<string> {
  return (await child.line(/^LISTENING (\S+)$/))[1]!;
}

describe("TCP across processes", () => {
  it("routes over one transport hop: initiator -> responder's echoer", async () => {
    const responder = start("responder.mjs");
    const address = await listening(responder);
    const initiator = start("initiator.mjs", `localhost:${port(address)}`, "echoer");
    expect((await initiator.line(/^REPLY (.*)$/))[1]).toBe('"Hello Ockam!"');
    // The initiator's process ends by itself after node.stop().
    expect(await initiator.exited).toBe(0);
  });

  it("routes over two hops: initiator -> middle's forward_to_bob relay -> responder's echoer", async () => {
    const responder = start("responder.mjs");
    const middle = start("middle.mjs", await listening(responder));
    const initiator = start("initiator.mjs", `localhost:${port(await listening(middle))}`, "forward_to_bob", "echoer");
    expect((await initiator.line(/^REPLY (.*)$/))[1]).toBe('"Hello Ockam!"');
    expect(await initiator.exited).toBe(0);
    // A second initiator through the same relay.
    const again = start("initiator.mjs", `127.0.0.1:${port(await listening(middle))}`, "forward_to_bob", "echoer");
    expect((await again.line(/^REPLY (.*)$/))[1]).toBe('"Hello Ockam!"');
    expect(await again.exited).toBe(0);
  });

  it("node.stop() closes the listener and the connections it accepted; every process then exits by itself", async () => {
    const responder = start("responder.mjs");
    const middle = start("middle.mjs", await listening(responder));
    await listening(middle);
    responder.tell("stop");
    await responder.line(/^STOPPED$/);
    expect(await responder.exited).toBe(0);
    middle.tell("stop");
    expect(await middle.exited).toBe(0);
  });
});
