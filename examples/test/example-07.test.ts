import { expect, it } from "vitest";
import { fileURLToPath } from "node:url";
import { runToExit } from "../../test/support/children.js";

const runExample = fileURLToPath(new URL("../dist/run-example.js", import.meta.url));

it("07-portal-through-relay: an HTTP client reaches a service on a node that only connects out, through a relay", async () => {
  const { code, stdout, stderr } = await runToExit([runExample, "07-portal-through-relay"], { timeoutMs: 60_000 });
  expect(code, stderr).toBe(0);
  const lines = stdout.split("\n").filter(Boolean);
  expect(lines).toHaveLength(4);
  expect(lines[0]).toMatch(/^Relay node listening on 127\.0\.0\.1:\d+$/);
  expect(lines[1]).toBe("Bob registered at the relay node as forward_to_bob");
  expect(lines[2]).toMatch(/^Inlet listening on 127\.0\.0\.1:\d+$/);
  expect(lines[3]).toBe("Client received: Hello from behind the NAT, you asked for /hello");
}, 90_000);
