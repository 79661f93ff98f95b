// An array given as the options object is an InvalidOptionError naming "options", as null is
// (null-options.test.ts): four surfaces checked `typeof options !== "object"` only, so `[]` was
// taken as no options and `[1]` was refused as an unknown option "0".
import { afterAll, beforeAll, expect, it } from "vitest";
import { InvalidOptionError, node, route, startRelay, type Node } from "@hopwire/runtime";
import { createIdentity, createSecureChannel, createSecureChannelListener } from "@hopwire/secure-channel";
import { createRemoteRelay, startRelayService } from "@hopwire/relay";

let n: Node;
beforeAll(async () => {
  n = await node({ warnings: false });
  await n.startWorker("sink", { handleMessage: () => {} }, { placement: "main" });
  await createSecureChannelListener(n, createIdentity(), "api");
});
afterAll(async () => {
  await n?.stop();
});

async function refusal(run: () => unknown): Promise<unknown> {
  try {
    await run();
  } catch (error) {
    return error;
  }
  return undefined;
}

it.each([[[]], [[1]]])("an array %j as the options object is an InvalidOptionError naming options", async (bad) => {
  const surfaces: [string, () => unknown][] = [
    ["startRelay", () => startRelay(n, `relay-${bad.length}`, route("sink"), bad as never)],
    ["startRelayService", () => startRelayService(n, bad as never)],
    ["createRemoteRelay", () => createRemoteRelay(n, bad as never)],
    ["channel.close", async () => (await createSecureChannel(n, createIdentity(), route("api"))).close(bad as never)],
  ];
  for (const [what, run] of surfaces) {
    const error = await refusal(run);
    expect(error, what).toBeInstanceOf(InvalidOptionError);
    expect((error as InvalidOptionError).option, what).toBe("options");
    expect((error as Error).message, what).toMatch(/got an array/);
  }
});
