import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { runToExit, startChild } from "./support/children.js";
import { Echoer } from "@hopwire/runtime";

// A process started the ordinary way loads each package's bundle (dist/bundle/, written by
// scripts/bundle.mjs after tsc -b); these test forks load the tsc files instead (condition
// "hopwire-unbundled", see vitest.config.ts). Real child processes, killed after every test
// (test/support/end-children.ts).
const root = new URL("../", import.meta.url);
const fixture = fileURLToPath(new URL("./fixtures/bundle/child.mjs", import.meta.url));
const PUBLISHED = ["runtime", "transport-tcp", "secure-channel", "portal", "relay", "cli"];

describe("the packages' bundles", () => {
  it("are what a child process loads: a thread worker, a pool worker and a secure channel on a crypto thread work from them", async () => {
    const child = startChild(fixture);
    expect(await child.exited).toBe(0);
    const resolved = Object.fromEntries(child.lines.filter((l) => l.startsWith("RESOLVED ")).map((l) => l.split(" ").slice(1)));
    const bundle = (pkg: string, name: string) => new URL(`packages/${pkg}/dist/bundle/${name}.js`, root).href;
    expect(resolved).toEqual({
      "@hopwire/runtime": bundle("runtime", "index"),
      "@hopwire/runtime/errors": bundle("runtime", "errors"),
      "@hopwire/transport-tcp": bundle("transport-tcp", "index"),
      "@hopwire/secure-channel": bundle("secure-channel", "index"),
      "@hopwire/secure-channel/noise": bundle("secure-channel", "noise"),
    });
    // The thread and the pool slot load the Echoer from the bundle's entry, by its export name.
    expect(child.lines).toContain(`MODULE ${bundle("runtime", "index")}`);
    expect(child.lines).toContain("REPLY thread hello thread");
    expect(child.lines).toContain("REPLY pool hello pool");
  });

  it("of every published package load in a plain process, and the cli's bin runs from its bundle", async () => {
    const imports = PUBLISHED.map((pkg) => `await import("@hopwire/${pkg}")`).join(";");
    const loaded = await runToExit(["--input-type=module", "-e", `${imports}; console.log("LOADED")`], { timeoutMs: 30_000, cwd: fileURLToPath(root) });
    expect(loaded.stderr).toBe("");
    expect(loaded.stdout).toBe("LOADED\n");

    const cli = JSON.parse(readFileSync(new URL("packages/cli/package.json", root), "utf8")) as { bin: { hopwire: string } };
    expect(cli.bin.hopwire).toBe("./bin/hopwire.js"); // a checked-in file that imports dist/bundle/bin.js
    const help = await runToExit([fileURLToPath(new URL(`packages/cli/${cli.bin.hopwire}`, root)), "--help"], { timeoutMs: 30_000 });
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/hopwire/);
  });

  it("give `npx hopwire` a linked bin after `npm ci` (npm links bins before `prepare` builds dist/, so the bin is a checked-in file)", async () => {
    const linked = fileURLToPath(new URL("node_modules/.bin/hopwire", root));
    const help = await runToExit(["--help"], { command: linked, timeoutMs: 30_000 });
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Usage: hopwire/);
  });

  it("keep a connection's mailbox, read twice for every message sent, out of V8's slow dictionary mode", async () => {
    // An object literal with a getter is a dictionary in V8: each load from it took ~10 ns instead of ~1.
    const script = [
      `const { node } = await import("@hopwire/runtime");`,
      `const { createTcpTransport, TcpConnectionOptions, TcpListenerOptions } = await import("@hopwire/transport-tcp");`,
      `const n = await node({ name: "fast" });`,
      `const tcp = await createTcpTransport(n);`,
      `const listener = await tcp.listen("127.0.0.1:0", new TcpListenerOptions());`,
      `const connection = await tcp.connect(listener.address, new TcpConnectionOptions());`,
      `const mailbox = n.router.mailboxOf(connection.address);`,
      `console.log(JSON.stringify({ mailbox: mailbox !== undefined, fast: %HasFastProperties(mailbox), full: mailbox.isFull }));`,
      `await n.stop();`,
    ].join("\n");
    const run = await runToExit(["--allow-natives-syntax", "--input-type=module", "-e", script], { timeoutMs: 30_000, cwd: fileURLToPath(root) });
    expect(run.stderr).toBe("");
    expect(JSON.parse(run.stdout)).toEqual({ mailbox: true, fast: true, full: false });
  });

  it("keep every class's name, yet leave the classes esbuild did not rename (the hot ones) out of V8's dictionary mode", async () => {
    // keepNames redefines `name` on what it wraps; that made every class a dictionary (slow
    // static loads and instanceof) and cost each per-call closure ~0.3 µs. scripts/bundle.mjs
    // now redefines a name only where esbuild changed it (WorkerHandlerError, which names
    // itself in its body, is `class _WorkerHandlerError` in the bundle); Address, Route and
    // MessageRun no longer name themselves in their bodies, so they are not renamed.
    const script = [
      `const { Address, LocalMessage, Route, WorkerHandlerError, node } = await import("@hopwire/runtime");`,
      `const optionError = await node({ bogus: 1 }).catch((error) => error);`,
      `console.log(JSON.stringify({ names: [Address.name, Route.name, WorkerHandlerError.name, LocalMessage.name, optionError.name], fast: [LocalMessage, Address, Route].map((c) => %HasFastProperties(c)) }));`,
    ].join("\n");
    const run = await runToExit(["--allow-natives-syntax", "--input-type=module", "-e", script], { timeoutMs: 30_000, cwd: fileURLToPath(root) });
    expect(run.stderr).toBe("");
    expect(JSON.parse(run.stdout)).toEqual({ names: ["Address", "Route", "WorkerHandlerError", "LocalMessage", "InvalidOptionError"], fast: [true, true, true] });
  });

  it("are not what these test forks load: here every package is its tsc output", () => {
    expect(Echoer.module).toBe(new URL("packages/runtime/dist/builtins/index.js", root).href);
    expect(import.meta.resolve("@hopwire/secure-channel")).toBe(new URL("packages/secure-channel/dist/index.js", root).href);
  });
});
