import { once } from "node:events";
import { connect, createServer } from "node:net";
import { afterEach, describe, expect, it, vi } from "vitest";
import { RateLimitedLog } from "../dist/node/rate-limited-log.js";
import { hopwire, newHome, removeHomes, terminate, type HopwireChild } from "./processes.js";

afterEach(() => removeHomes());

/** A port on 127.0.0.1 with nothing listening on it (it was free a moment ago). */
async function closedPort(): Promise<number> {
  const probe = createServer();
  probe.listen(0, "127.0.0.1");
  await once(probe, "listening");
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/** Connects a client to `port` and resolves when the connection ends (the inlet resets it when its stream fails). */
async function clientEnds(port: number): Promise<void> {
  const socket = connect(port, "127.0.0.1");
  socket.on("error", () => {}); // ECONNRESET: what a failed stream does to its client
  socket.resume();
  await new Promise((resolve) => socket.once("close", resolve)); // (events.once would reject on that error)
}

async function portOf(child: HopwireChild, what: string): Promise<number> {
  return Number((await child.line(new RegExp(` ${what} 127\\.0\\.0\\.1:(\\d+)`)))[1]);
}

describe("client connections an inlet could not carry", { timeout: 60_000 }, () => {
  // The inlet logged nothing: its clients were reset (after 10 s when the outlet never answers)
  // and the only trace was the outlet node's warning, which told a CLI user to call
  // node.startWorker("nope", ...).
  it("the inlet logs one line naming the outlet and why; the outlet node's warning speaks of --outlet (as processes)", async () => {
    const home = newHome();
    const target = await closedPort();
    // Warnings on for the outlet node: the suite turns them off for every process.
    const outlet = hopwire(["--home", home, "outlet", "--trust-anyone", "--to", `127.0.0.1:${target}`, "--listen", "127.0.0.1:0"], { HOPWIRE_WARNINGS: "on" });
    const outletPort = await portOf(outlet, "tcp listener");
    const via = `127.0.0.1:${outletPort}`;
    const wrong = hopwire(["--home", home, "inlet", "--trust-anyone", "--from", "127.0.0.1:0", "--via", via, "--outlet", "nope"]);
    const right = hopwire(["--home", home, "inlet", "--trust-anyone", "--from", "127.0.0.1:0", "--via", via]);
    const [wrongPort, rightPort] = await Promise.all([portOf(wrong, "inlet"), portOf(right, "inlet")]);
    await Promise.all([wrong.line(/ ready$/), right.line(/ ready$/)]);

    // An outlet that cannot reach its target refuses the stream at once, and says why (its RESET's detail).
    await clientEnds(rightPort);
    await right.line(
      new RegExp(
        `^\\S+ inlet 127\\.0\\.0\\.1:${rightPort}: a connection could not be opened through outlet "outlet" ` +
          `\\(${via} -> api -> outlet\\): the outlet could not connect to its target: ECONNREFUSED \\(PORTAL_TARGET_UNREACHABLE; the outlet's node logs the target\\)$`,
      ),
    );
    // And the outlet's node, next to the service, says why.
    await outlet.line(
      new RegExp(`^\\S+ outlet outlet -> 127\\.0\\.0\\.1:${target}: a connection could not reach the target \\(cannot connect to the target: connect ECONNREFUSED 127\\.0\\.0\\.1:${target}\\)$`),
    );

    // No outlet "nope": the outlet node says so (on stderr) as soon as the stream's OPEN arrives,
    // the inlet when its open timeout (10 s) ends and resets the client.
    const ended = clientEnds(wrongPort);
    await vi.waitFor(() => expect(outlet.stderr()).toMatch(/nothing on this node is called "nope"/), { timeout: 30_000, interval: 50 });
    expect(outlet.stderr()).toMatch(
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z hopwire: warning: dropped a message from \S+ for "nope": nothing on this node is called "nope" \(outlets: outlet; secure channel listeners: api\): the sender names the wrong outlet \(--outlet, inlets\[\]\.outlet\) or listener \(inlets\[\]\.listener\)\. The sender is not told; it sees a timeout\.\n$/,
    );
    expect(outlet.stderr()).not.toMatch(/startWorker/);
    await ended;
    await wrong.line(
      new RegExp(
        `^\\S+ inlet 127\\.0\\.0\\.1:${wrongPort}: a connection could not be opened through outlet "nope" \\(${via} -> api -> nope\\): ` +
          `no answer within 10 s \\(PORTAL_OPEN_TIMEOUT\\): is there an outlet "nope" on that node \\(--outlet, inlets\\[\\]\\.outlet\\)\\? ` +
          `If that node is a relay node, name the relay the outlet registered: --via <name>@host:port \\(inlets\\[\\]\\.relay\\)\\. ` +
          `Or has that node stopped answering\\? One whose process exited closes its connection and the inlet opens a new channel at once; ` +
          `one that hangs, or whose host is cut off, is known dead only once nothing was heard from it for the channel's peer timeout \\(30 s\\), and then the inlet opens a new one\\.$`,
      ),
    );
    await Promise.all([terminate(wrong), terminate(right), terminate(outlet)]);
  });

  // It said only that the outlet did not allow the target, where the CLI's other lines name the flag that fixes them.
  it("an inlet asking for a target the outlet does not list names the outlet's --allow-target (as processes)", async () => {
    const home = newHome();
    const to = `127.0.0.1:${await closedPort()}`;
    const outlet = hopwire(["--home", home, "outlet", "--trust-anyone", "--to", to, "--listen", "127.0.0.1:0", "--allow-target", "127.0.0.1:2"]);
    const via = `127.0.0.1:${await portOf(outlet, "tcp listener")}`;
    // Its start-up line says which other targets it allows.
    await outlet.line(new RegExp(`^\\S+ outlet outlet -> ${to.replace(/\./g, "\\.")} \\(inlets may also ask for: 127\\.0\\.0\\.1:2\\)$`));
    const asking = hopwire(["--home", home, "inlet", "--trust-anyone", "--from", "127.0.0.1:0", "--via", via, "--target", "127.0.0.1:1"]);
    const askingPort = await portOf(asking, "inlet");
    await asking.line(/ ready$/);
    await clientEnds(askingPort);
    await asking.line(
      new RegExp(
        `^\\S+ inlet 127\\.0\\.0\\.1:${askingPort}: a connection could not be opened through outlet "outlet" \\(${via} -> api -> outlet\\): ` +
          `the outlet does not allow the target asked for \\(PORTAL_TARGET_NOT_ALLOWED\\): an outlet connects to its --to target, ` +
          `and to a target an inlet asks for \\(--target, inlets\\[\\]\\.target\\) only if the outlet lists it \\(--allow-target, outlets\\[\\]\\.allow\\)$`,
      ),
    );
    // The outlet's operator sees the attempt too (it logged nothing).
    await outlet.line(
      new RegExp(`^\\S+ outlet outlet -> ${to.replace(/\./g, "\\.")}: refused a connection: target 127\\.0\\.0\\.1:1 is not on the allow-list \\(--allow-target, outlets\\[\\]\\.allow\\) \\(PORTAL_TARGET_NOT_ALLOWED\\)$`),
    );
    await Promise.all([terminate(asking), terminate(outlet)]);
  });
});

describe("RateLimitedLog (the inlet's failure lines)", () => {
  it("logs a cause at once, counts it for an interval, then sums up; a quiet interval resets it; stop sums up what is left", () => {
    vi.useFakeTimers();
    try {
      const lines: string[] = [];
      const log = new RateLimitedLog((l) => lines.push(l), 10_000);
      const report = (cause: string): void => log.report(cause, () => `${cause} failed`, (n) => `${cause} failed ${n} more times`);
      report("A");
      report("A");
      report("A");
      report("B");
      expect(lines).toEqual(["A failed", "B failed"]);
      vi.advanceTimersByTime(10_000);
      expect(lines).toEqual(["A failed", "B failed", "A failed 2 more times"]);
      report("A"); // still within A's next interval: counted
      vi.advanceTimersByTime(10_000);
      expect(lines.slice(3)).toEqual(["A failed 1 more times"]);
      vi.advanceTimersByTime(10_000); // a quiet interval: A is forgotten
      report("A");
      expect(lines.slice(4)).toEqual(["A failed"]);
      report("A");
      log.stop();
      expect(lines.slice(5)).toEqual(["A failed 1 more times"]);
      vi.advanceTimersByTime(60_000);
      expect(lines).toHaveLength(6);
    } finally {
      vi.useRealTimers();
    }
  });
});
