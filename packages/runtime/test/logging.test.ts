import { afterEach, describe, expect, it, vi } from "vitest";
import { fileURLToPath } from "node:url";
import { createLogger, DEFAULT_MAX_LINES_PER_SECOND, InvalidOptionError } from "@hopwire/runtime";
import { runToExit } from "../../../test/support/children.js";
import { thrownOptionError } from "../../../test/support/thrown.js";

async function runLogChild(debug: string | undefined): Promise<{ code: number; stderr: string }> {
  const env = { ...process.env };
  delete env.DEBUG;
  if (debug !== undefined) env.DEBUG = debug;
  const { code, stderr } = await runToExit([fileURLToPath(new URL("./fixtures/log-child.js", import.meta.url))], { env, timeoutMs: 20_000 });
  return { code: code === 0 ? 0 : -1, stderr };
}

describe("logging", () => {
  it("is silent by default, enabled by DEBUG patterns, with a node prefix", () => {
    const lines: string[] = [];
    const sink = (line: string) => void lines.push(line);
    createLogger("hopwire", { sink, debug: "" }).warn("nothing");
    const log = createLogger("hopwire", { sink, debug: "hopwire:*,-hopwire:noisy", prefix: "n1" });
    log.info("the node's own line");
    log.child("tcp").info("connected", { port: 4000 });
    log.child("noisy").info("excluded");
    createLogger("hopwirex", { sink, debug: "hopwire:*" }).info("another library's");
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^\S+ \[n1\] hopwire info the node's own line$/);
    expect(lines[1]).toMatch(/^\S+ \[n1\] hopwire:tcp info connected \{"port":4000\}$/);
  });

  it("escapes control characters (text from the network: addresses, errors) so that no line can be forged", () => {
    const lines: string[] = [];
    const log = createLogger("hopwire", { sink: (line) => void lines.push(line), debug: "hopwire:*" });
    log.child("tcp").debug("dropped a message to 0#x\nhopwire:tcp debug FORGED", new Error("no worker has \u001b[2Jx"));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^\S+ hopwire:tcp debug dropped a message to 0#x\\u000ahopwire:tcp debug FORGED Error: no worker has \\u001b\[2Jx$/);
  });

  it("selects one component alone by its namespace, without the node's own lines", () => {
    const lines: string[] = [];
    const log = createLogger("hopwire", { sink: (line) => void lines.push(line), debug: "hopwire:tcp" });
    log.info("the node's own line");
    log.child("tcp").info("connected");
    log.child("secure-channel").info("opened");
    expect(lines.map((line) => line.split(" ").slice(1).join(" "))).toEqual(["hopwire:tcp info connected"]);
  });

  it("makes one child logger per name (channel ends and connections ask for theirs as each one opens)", () => {
    const lines: string[] = [];
    const log = createLogger("hopwire", { sink: (line) => void lines.push(line), debug: "hopwire:*" });
    const first = log.child("secure-channel");
    expect(log.child("secure-channel")).toBe(first);
    expect(log.child("tcp")).not.toBe(first);
    expect(first.child("x")).toBe(first.child("x"));
    log.child("secure-channel").debug("opened");
    log.child("tcp").debug("dialled");
    expect(lines.map((line) => line.split(" ").slice(1).join(" "))).toEqual(["hopwire:secure-channel debug opened", "hopwire:tcp debug dialled"]);
  });

  it("gives thread and pool workers a logger in their thread that honours DEBUG", async () => {
    const on = await runLogChild("hopwire:worker*");
    expect(on.code, on.stderr).toBe(0);
    expect(on.stderr).toMatch(/\[child-node\] hopwire:worker:talker info hello from a thread/);
    expect(on.stderr).toMatch(/\[child-node\] hopwire:worker:pool-talker info hello from a pool slot/);
    const off = await runLogChild(undefined);
    expect(off.code, off.stderr).toBe(0);
    expect(off.stderr).not.toMatch(/hello from/);
  });
  it("refuses a misspelt option, a sink that is not a function and an empty namespace, naming what is wrong", () => {
    const refused = thrownOptionError;
    const misspelt = refused(() => createLogger("hopwire", { sinc: () => {} } as never));
    expect(misspelt.message).toBe('logger options: unknown option "sinc"; did you mean "sink"? known options: debug, prefix, sink, maxLinesPerSecond');
    expect(refused(() => createLogger("hopwire", { sink: "stderr" } as never)).option).toBe("sink");
    expect(refused(() => createLogger("hopwire", { debug: true } as never)).message).toBe("logger options: debug must be a string, got true");
    expect(refused(() => createLogger("")).option).toBe("namespace");
    expect(refused(() => createLogger("hopwire", null as never)).message).toBe("createLogger: options must be a plain object, got null");
    for (const bad of [0, 0.5, -1, Number.NaN, "10"]) expect(refused(() => createLogger("hopwire", { maxLinesPerSecond: bad as number })).option).toBe("maxLinesPerSecond");
  });
});

describe("logging under a flood", () => {
  afterEach(() => void vi.useRealTimers());

  it("writes at most maxLinesPerSecond lines a second per namespace, then says how many it left out", () => {
    vi.useFakeTimers();
    const lines: string[] = [];
    const log = createLogger("hopwire", { sink: (line) => void lines.push(line), debug: "hopwire:*", maxLinesPerSecond: 50 });
    const tcp = log.child("tcp");
    for (let i = 0; i < 1000; i++) tcp.debug(`dropped frame ${i}`);
    expect(lines).toHaveLength(50);
    // Another namespace has its own budget: a flood in one does not silence it.
    log.child("secure-channel").info("opened");
    expect(lines.at(-1)).toMatch(/hopwire:secure-channel info opened$/);
    // A second later, with no line since, a timer says what was left out.
    vi.advanceTimersByTime(1000);
    expect(lines.at(-1)).toMatch(/hopwire:tcp warn 950 lines left out \(at most 50 a second\)$/);
    const written = lines.length;
    tcp.debug("after the flood");
    expect(lines.slice(written).map((line) => line.split(" ").slice(1).join(" "))).toEqual(["hopwire:tcp debug after the flood"]);
  });

  it("goes on writing after the wall clock steps back (an NTP step, a resumed VM)", () => {
    vi.useFakeTimers();
    const lines: string[] = [];
    const log = createLogger("hopwire", { sink: (line) => void lines.push(line), debug: "hopwire:*", maxLinesPerSecond: 10 });
    for (let i = 0; i < 10; i++) log.debug(`line ${i}`); // the bucket is empty
    vi.setSystemTime(Date.now() - 3_600_000);
    log.debug("left out: nothing refilled yet");
    vi.advanceTimersByTime(1000);
    log.error("a second later");
    expect(lines.at(-1)).toMatch(/hopwire error a second later$/);
  });

  it("reports what it left out before the next line it writes, and writes everything with Infinity", () => {
    vi.useFakeTimers();
    const lines: string[] = [];
    const log = createLogger("hopwire", { sink: (line) => void lines.push(line), debug: "hopwire:*", maxLinesPerSecond: 10 });
    for (let i = 0; i < 30; i++) log.debug(`line ${i}`);
    vi.advanceTimersByTime(500); // five tokens back; the timer has not run
    log.debug("next");
    expect(lines.slice(10).map((line) => line.split(" ").slice(1).join(" "))).toEqual(["hopwire warn 20 lines left out (at most 10 a second)", "hopwire debug next"]);

    const all: string[] = [];
    const unlimited = createLogger("hopwire", { sink: (line) => void all.push(line), debug: "hopwire:*", maxLinesPerSecond: Infinity });
    for (let i = 0; i < 5 * DEFAULT_MAX_LINES_PER_SECOND; i++) unlimited.debug(`line ${i}`);
    expect(all).toHaveLength(5 * DEFAULT_MAX_LINES_PER_SECOND);
    const limited: string[] = [];
    const byDefault = createLogger("hopwire", { sink: (line) => void limited.push(line), debug: "hopwire:*" });
    for (let i = 0; i < 5 * DEFAULT_MAX_LINES_PER_SECOND; i++) byDefault.debug(`line ${i}`);
    expect(limited).toHaveLength(DEFAULT_MAX_LINES_PER_SECOND);
  });
});
