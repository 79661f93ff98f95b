import { afterEach, describe, expect, it } from "vitest";
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";

const runExample = fileURLToPath(new URL("../dist/run-example.js", import.meta.url));

interface Running {
  child: ChildProcess;
  lines: string[];
  /** Resolves with the first line that matches. */
  line(pattern: RegExp): Promise<string>;
}

const started: ChildProcess[] = [];

/** Runs one example as its own process (real node, real sockets), collecting its stdout lines. */
function run(name: string, ...args: string[]): Running {
  const child = spawn(process.execPath, [runExample, name, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  started.push(child);
  const lines: string[] = [];
  const waiting: { pattern: RegExp; resolve: (line: string) => void }[] = [];
  createInterface({ input: child.stdout! }).on("line", (line) => {
    lines.push(line);
    for (const w of waiting.filter((w) => w.pattern.test(line))) {
      waiting.splice(waiting.indexOf(w), 1);
      w.resolve(line);
    }
  });
  let stderr = "";
  child.stderr!.on("data", (chunk) => (stderr += chunk));
  return {
    child,
    lines,
    line: (pattern) => {
      const seen = lines.find((l) => pattern.test(l));
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        waiting.push({ pattern, resolve });
        child.on("exit", (code) => reject(new Error(`${name} exited (${code}) before printing ${pattern}: ${stderr}`)));
      });
    },
  };
}

async function listening(node: Running): Promise<string> {
  const line = await node.line(/^Listening on /);
  return line.slice("Listening on ".length);
}

async function exitCode(node: Running): Promise<number | null> {
  if (node.child.exitCode !== null) return node.child.exitCode;
  const [code] = (await once(node.child, "exit")) as [number | null];
  return code;
}

afterEach(async () => {
  for (const child of started.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      await once(child, "exit");
    }
  }
});

describe("examples over TCP, one process per node", () => {
  it("04-routing-over-transport: initiator → responder's echoer", async () => {
    const responder = run("04-routing-over-transport-responder", "127.0.0.1:0");
    const address = await listening(responder);
    const initiator = run("04-routing-over-transport-initiator", address);
    expect(await exitCode(initiator)).toBe(0);
    expect(initiator.lines).toContain("App Received: Hello Ockam!");
    await responder.line(/^Address: 0#echoer, Received: "Hello Ockam!"$/);
  });

  it("04-routing-over-transport-two-hops: initiator → middle's relay → responder's echoer", async () => {
    const responder = run("04-routing-over-transport-responder", "127.0.0.1:0");
    const middle = run("04-routing-over-transport-two-hops-middle", await listening(responder), "127.0.0.1:0");
    const initiator = run("04-routing-over-transport-two-hops-initiator", (await listening(middle)).replace("127.0.0.1", "localhost"));
    expect(await exitCode(initiator)).toBe(0);
    expect(initiator.lines).toContain("App Received: Hello Ockam!");
    await middle.line(/^Address: 0#forward_to_responder, Received: /);
  });

  it("05-secure-channel-over-two-transport-hops: the guide's three nodes", async () => {
    const responder = run("05-secure-channel-over-two-transport-hops-responder", "127.0.0.1:0");
    const middle = run("05-secure-channel-over-two-transport-hops-middle", await listening(responder), "127.0.0.1:0");
    const initiator = run("05-secure-channel-over-two-transport-hops-initiator", (await listening(middle)).replace("127.0.0.1", "localhost"));
    expect(await exitCode(initiator)).toBe(0);
    expect(initiator.lines).toEqual(["App Received: Hello Ockam!"]);
    await responder.line(/^Address: 0#echoer, Received: "Hello Ockam!"$/);
    // The relay saw the handshake's first message (the channel's bytes, not its content).
    await middle.line(/^Address: 0#forward_to_bob, Received: \d+ bytes$/);
  });

  it("06-portal-over-secure-channel outlet and inlet: HTTP through the portal, one process per node", async () => {
    const service = createServer((req, res) => res.end(`service saw ${req.url}`));
    await new Promise<void>((resolve) => service.listen(0, "127.0.0.1", resolve));
    try {
      const outlet = run("06-portal-over-secure-channel-outlet", "127.0.0.1:0", `127.0.0.1:${(service.address() as AddressInfo).port}`);
      await outlet.line(/^Outlet 0#outlet forwards to 127\.0\.0\.1:\d+$/);
      const inlet = run("06-portal-over-secure-channel-inlet", await listening(outlet), "127.0.0.1:0");
      const address = (await inlet.line(/^Inlet listening on /)).slice("Inlet listening on ".length);
      const response = await fetch(`http://${address}/through/the/portal`);
      expect(await response.text()).toBe("service saw /through/the/portal");
    } finally {
      service.close();
    }
  });
});
