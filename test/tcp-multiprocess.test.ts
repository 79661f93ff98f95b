import { afterEach, describe, expect, it } from "vitest";
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

// Real child processes running the compiled packages (the tests assume `tsc -b` ran).
const fixtures = fileURLToPath(new URL("./fixtures/", import.meta.url));
const children: ChildProcessWithoutNullStreams[] = [];

afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill();
});

interface Child {
  process: ChildProcessWithoutNullStreams;
  /** Resolves with the first stdout line (seen or to come) that matches. */
  line(pattern: RegExp): Promise<RegExpMatchArray>;
  exited: Promise<number | null>;
}

function start(script: string, ...args: string[]): Child {
  const child = spawn(process.execPath, [`${fixtures}tcp/${script}`, ...args], {
    stdio: ["pipe", "pipe", "pipe"],
  });
  children.push(child);
  const lines: string[] = [];
  const waiters: { pattern: RegExp; resolve: (m: RegExpMatchArray) => void }[] = [];
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  createInterface({ input: child.stdout }).on("line", (line) => {
    lines.push(line);
    for (const w of waiters.splice(0)) {
      const m = line.match(w.pattern);
      if (m) w.resolve(m);
      else waiters.push(w);
    }
  });
  const exited = once(child, "exit").then(([code]) => code as number | null);
  return {
    process: child,
    exited,
    line(pattern) {
      for (const l of lines) {
        const m = l.match(pattern);
        if (m) return Promise.resolve(m);
      }
      return new Promise((resolve, reject) => {
        waiters.push({ pattern, resolve });
        void exited.then((code) => reject(new Error(`${script} exited (${code}) before printing ${pattern}: ${stderr}`)));
      });
    },
  };
}

async function listening(child: Child): Promise<string> {
  return (await child.line(/^LISTENING (\S+)$/))[1]!;
}

function port(address: string): string {
  return address.slice(address.lastIndexOf(":") + 1);
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
    responder.process.stdin.write("stop\n");
    await responder.line(/^STOPPED$/);
    expect(await responder.exited).toBe(0);
    middle.process.stdin.write("stop\n");
    expect(await middle.exited).toBe(0);
  });
});
