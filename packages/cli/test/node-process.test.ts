// A command that runs a node runs it in a child process started with --initial-old-space-size=64
// (src/relaunch.ts), the spawned `hopwire` staying as its supervisor. Linux only: the child is
// found through /proc (its parent is the spawned process).
import { spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { connect } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { commandOf, relaunchFlags } from "../dist/relaunch.js";
import { bin, hopwire, newHome, outputClosed, removeHomes, terminate, type HopwireChild } from "./processes.js";

afterEach(() => removeHomes());

/** The processes whose parent is `pid`. */
function childrenOf(pid: number): number[] {
  const found: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      if (Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === pid) found.push(Number(entry));
    } catch {
      // ended meanwhile
    }
  }
  return found;
}

const cmdline = (pid: number): string[] => readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").slice(0, -1);

/**
 * Ended: no /proc entry, or a zombie its new parent (init here reaps slowly) has not reaped
 * yet, its last thread gone: the main thread reads as a zombie while the others still exit,
 * holding the process's sockets (a port still accepted connections: 2 runs in 8).
 */
function ended(pid: number): boolean {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    return /^State:\s+Z/m.test(status) && /^Threads:\s+1$/m.test(status);
  } catch {
    return !existsSync(`/proc/${pid}`);
  }
}

async function waitEnded(pid: number, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ended(pid)) {
    if (Date.now() > deadline) throw new Error(`process ${pid} still running after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A relay node on a free port, ready: the spawned process, its port, and the node's process (the only child, if any). */
async function relay(env: Record<string, string> = {}): Promise<{ node: HopwireChild; port: number; child: number | undefined }> {
  const node = hopwire(["--home", newHome(), "relay", "--listen", "127.0.0.1:0", "--allow-anyone"], env);
  const [, port] = await node.line(/ tcp listener 127\.0\.0\.1:(\d+)$/);
  await node.line(/ ready$/);
  const children = childrenOf(node.process.pid!);
  expect(children.length).toBeLessThanOrEqual(1);
  return { node, port: Number(port), child: children[0] };
}

const refused = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => (socket.destroy(), resolve(false)));
    socket.once("error", (e: NodeJS.ErrnoException) => resolve(e.code === "ECONNREFUSED"));
  });

describe.skipIf(process.platform !== "linux")("a node's own process", { timeout: 60_000 }, () => {
  it("relay runs its node in a child started with --initial-old-space-size=64; SIGTERM to the spawned process stops it as before, child and all", async () => {
    const { node, child } = await relay();
    expect(child).toBeDefined();
    const args = cmdline(child!);
    expect(args).toContain("--initial-old-space-size=64");
    expect(args.slice(-4)).toEqual(["relay", "--listen", "127.0.0.1:0", "--allow-anyone"]);
    expect(cmdline(node.process.pid!)).not.toContain("--initial-old-space-size=64");
    await terminate(node);
    await waitEnded(child!);
  });

  it("SIGKILL to the spawned process: the node's process ends soon after, and its port closes", async () => {
    const { node, port, child } = await relay();
    expect(child).toBeDefined();
    node.process.kill("SIGKILL");
    await node.exited;
    await waitEnded(child!);
    // A killed process's leader can show as a zombie while its other threads still exit, and its sockets close with
    // the last of them (a full run saw one connection accepted then): the port is closed soon after, not at once.
    const deadline = Date.now() + 20_000;
    while (!(await refused(port))) {
      if (Date.now() > deadline) throw new Error(`port ${port} still accepts connections 20 s after its node's process ended`);
      await new Promise((r) => setTimeout(r, 20));
    }
  });

  it("SIGTERM to both processes at once (systemd signals every process of a service): one stop, exit 0", async () => {
    const { node, child } = await relay();
    process.kill(child!, "SIGTERM");
    await terminate(node);
    expect(node.lines.filter((l) => / stopping /.test(l))).toHaveLength(1);
    expect(node.lines.some((l) => / again: /.test(l))).toBe(false);
  });

  it("a supervisor gone before the node's process has loaded its modules: that process kills itself, no stack trace", async () => {
    // The node's process as a supervisor starts it, but its modules load only after 300 ms (a
    // preload waits), and its supervisor's end of the channel is closed at once: as a
    // supervisor killed with SIGKILL in its first milliseconds (it said "TypeError: Cannot
    // read properties of null (reading 'unref')" and exited 1).
    const wait = "data:text/javascript,await new Promise((r) => setTimeout(r, 300))";
    const child = spawn(process.execPath, [`--import=${wait}`, bin, "--home", newHome(), "relay", "--listen", "127.0.0.1:0", "--allow-anyone"], {
      stdio: ["ignore", "pipe", "pipe", "ipc"],
      env: { ...process.env, HOPWIRE_NODE_CHILD: "1" },
    });
    let output = "";
    for (const stream of [child.stdout, child.stderr]) stream.on("data", (d: Buffer) => (output += d.toString()));
    child.disconnect();
    const [code, signal] = await once(child, "exit");
    expect(output).toBe("");
    expect([code, signal]).toEqual([null, "SIGKILL"]);
  });

  it("a signal before the node's handlers are in place (its process still loading the CLI) exits 0, not by the signal", async () => {
    // The node's process as a supervisor starts it, signalled as soon as relaunch.ts has run, before
    // run-node's handlers: it was killed by SIGTERM (no "stopped", the command ended 143).
    const relaunch = new URL("../dist/relaunch.js", import.meta.url).href;
    const script = `const { relaunched } = await import(${JSON.stringify(relaunch)}); relaunched(); process.kill(process.pid, "SIGTERM"); setTimeout(() => {}, 10_000);`;
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: "ignore", env: { ...process.env, HOPWIRE_NODE_CHILD: "1" } });
    const [code, signal] = await once(child, "exit");
    expect([code, signal]).toEqual([0, null]);
  });

  it("a node's process that dumps core (SIGABRT): the command exits 134 and is not ended by SIGABRT itself (its core would replace the node's)", async () => {
    const home = newHome();
    const node = spawn(process.execPath, [bin, "--home", home, "relay", "--listen", "127.0.0.1:0", "--allow-anyone"], {
      cwd: home, // where a core would go
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, HOPWIRE_NODE_FLAGS: "--initial-old-space-size=64 --import=data:text/javascript,process.abort()" },
    });
    node.stdout.resume();
    node.stderr.resume();
    const [code, signal] = await once(node, "exit");
    expect([code, signal]).toEqual([134, null]);
  });

  it("the same signal twice to the spawned process within 500 ms (Ctrl-C twice in a terminal) stops the node at once, exit 1", async () => {
    // A stop that takes 3 s: the node's process delays its exit 0 (its exit 1 is at once).
    const slowStop = join(newHome(), "slow-stop.mjs");
    writeFileSync(
      slowStop,
      "const exit = process.exit.bind(process);\nprocess.exit = (code) => (code === 0 || code === undefined ? setTimeout(() => exit(0), 3000) : exit(code));\n",
    );
    const { node } = await relay({ HOPWIRE_NODE_FLAGS: `--initial-old-space-size=64 --import=${pathToFileURL(slowStop).href}` });
    node.process.kill("SIGINT");
    await node.line(/ stopped$/);
    node.process.kill("SIGINT");
    expect(await node.exited).toBe(1);
    expect(node.lines.some((l) => / SIGINT again: exiting without waiting$/.test(l))).toBe(true);
  });

  it("HOPWIRE_NODE_FLAGS= (empty): no child, the node runs in the spawned process", async () => {
    const { node, child } = await relay({ HOPWIRE_NODE_FLAGS: "" });
    expect(child).toBeUndefined();
    expect(cmdline(node.process.pid!)).not.toContain("--initial-old-space-size=64");
    await terminate(node);
  });

  it("HOPWIRE_NODE_FLAGS replaces the flags: they are on the child's command line, the default is not", async () => {
    const { node, child } = await relay({ HOPWIRE_NODE_FLAGS: " --max-semi-space-size=8  " });
    expect(child).toBeDefined();
    const args = cmdline(child!);
    expect(args).toContain("--max-semi-space-size=8");
    expect(args).not.toContain("--initial-old-space-size=64");
    await terminate(node);
    await waitEnded(child!);
  });
});

describe("HOPWIRE_NODE_FLAGS that would not start a node", () => {
  it("a word that is not a flag (a value apart from its flag, quotes) or a flag that runs no node is refused, naming the variable", () => {
    const flags = (value: string) => () => relaunchFlags(["relay"], [], { HOPWIRE_NODE_FLAGS: value });
    expect(flags("--max-old-space-size 512")).toThrow(/^HOPWIRE_NODE_FLAGS: "512" is not a flag: .*\(--max-old-space-size=512\)/);
    expect(flags('--title="my node"')).toThrow(/is not a flag/);
    expect(flags("--version")).toThrow(/^HOPWIRE_NODE_FLAGS: "--version" would run no node/);
    expect(flags("-e")).toThrow(/would run no node/);
    expect(flags("--expose-gc --max-semi-space-size=8")()).toEqual(["--expose-gc", "--max-semi-space-size=8"]);
  });

  it.skipIf(process.platform === "win32")("the command exits 2 with the variable's error, and says which flags Node refused when it exits 9", { timeout: 30_000 }, async () => {
    const run = async (value: string) => {
      const node = hopwire(["--home", newHome(), "relay", "--listen", "127.0.0.1:0", "--allow-anyone"], { HOPWIRE_NODE_FLAGS: value });
      const code = await node.exited;
      await outputClosed(node);
      return { code, stderr: node.stderr() };
    };
    expect(await run("--max-old-space-size 512")).toEqual({ code: 2, stderr: expect.stringMatching(/^hopwire: HOPWIRE_NODE_FLAGS: "512" is not a flag/) });
    const refused = await run("--no-such-flag");
    expect(refused.code).toBe(9);
    expect(refused.stderr).toMatch(/bad option: --no-such-flag\n[^]*hopwire: the node's process did not start: Node refused the flags of HOPWIRE_NODE_FLAGS \(--no-such-flag\)\n$/);
  });
});

describe("which command lines start the node's process", () => {
  it("the command is the first argument that is neither an option nor --home's value", () => {
    expect(commandOf(["--home", "relay", "node", "x.yaml"])).toBe("node");
    expect(commandOf(["--home=/h", "inlet"])).toBe("inlet");
    expect(commandOf(["-V"])).toBeUndefined();
  });

  it("node commands only, not with --help, HOPWIRE_NODE_FLAGS empty, the flags already given, or the inspector", () => {
    const flags = (args: string[], execArgv: string[] = [], env: NodeJS.ProcessEnv = {}) => relaunchFlags(args, execArgv, env);
    for (const command of ["node", "relay", "outlet", "inlet"]) expect(flags(["--home", "/h", command])).toEqual(["--initial-old-space-size=64"]);
    expect(flags(["identity", "list"])).toBeUndefined();
    expect(flags(["relay", "--help"])).toBeUndefined();
    expect(flags(["relay"], [], { HOPWIRE_NODE_FLAGS: " " })).toBeUndefined();
    expect(flags(["relay"], [], { HOPWIRE_NODE_CHILD: "1" })).toBeUndefined();
    expect(flags(["relay"], ["--initial_old_space_size=32"])).toBeUndefined();
    expect(flags(["relay"], ["--inspect=0"])).toBeUndefined();
    expect(flags(["relay"], [], { NODE_OPTIONS: "--require ./x.cjs  --inspect-brk=127.0.0.1:9229" })).toBeUndefined();
    expect(flags(["relay"], [], { NODE_OPTIONS: "--max-old-space-size=512" })).toEqual(["--initial-old-space-size=64"]);
    expect(flags(["relay"], ["--initial-old-space-size=64"], { HOPWIRE_NODE_FLAGS: "--initial-old-space-size=64 --max-semi-space-size=8" })).toEqual([
      "--initial-old-space-size=64",
      "--max-semi-space-size=8",
    ]);
  });
});
