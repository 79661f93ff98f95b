import { expect, it } from "vitest";
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";

const runExample = fileURLToPath(new URL("../dist/run-example.js", import.meta.url));

it("07-portal-through-relay: an HTTP client reaches a service on a node that only connects out, through a relay", async () => {
  const { code, lines, stderr } = await new Promise<{ code: number; lines: string[]; stderr: string }>((resolve) => {
    execFile(process.execPath, [runExample, "07-portal-through-relay"], { timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === "number" ? error.code : -1) : 0, lines: stdout.split("\n").filter(Boolean), stderr });
    });
  });
  expect(code, stderr).toBe(0);
  expect(lines).toHaveLength(4);
  expect(lines[0]).toMatch(/^Relay node listening on 127\.0\.0\.1:\d+$/);
  expect(lines[1]).toBe("Bob registered at the relay node as forward_to_bob");
  expect(lines[2]).toMatch(/^Inlet listening on 127\.0\.0\.1:\d+$/);
  expect(lines[3]).toBe("Client received: Hello from behind the NAT, you asked for /hello");
}, 90_000);
