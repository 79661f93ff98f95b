// `busyPollMicros` in a node's configuration reaches the node (NodeOptions.busyPollMicros).
import { afterEach, describe, expect, it } from "vitest";
import { parseConfig, startNodeFromConfig, type RunningNode } from "../dist/index.js";
import { newHome, removeHomes } from "./processes.js";

const running: RunningNode[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((r) => r.stop()));
  removeHomes();
});

async function start(config: object): Promise<RunningNode> {
  const r = await startNodeFromConfig(parseConfig(config, "test"), { home: newHome(), source: "test", log: () => {} });
  running.push(r);
  return r;
}

describe("busyPollMicros in a node's configuration", () => {
  it("turns the node's busy polling on; left out, it stays off", async () => {
    const polling = await start({ busyPollMicros: 150, tcpListeners: [{ address: "127.0.0.1:0" }] });
    const quiet = await start({ tcpListeners: [{ address: "127.0.0.1:0" }] });
    expect([polling.node.busyPollMicros, quiet.node.busyPollMicros]).toEqual([150, 0]);
    expect(typeof polling.node.afterHandOff).toBe("function");
    expect(quiet.node.afterHandOff).toBeUndefined();
  });
});
