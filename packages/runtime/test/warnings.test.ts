import { afterEach, describe, expect, it, vi } from "vitest";
import { MAX_WARNING_CAUSES, node, WARNING_INTERVAL_MS, type Context, type NodeWarning, type Routed } from "@hopwire/runtime";
import { eventually } from "../../../test/support/eventually.js";
import { RateLimitedWarnings, type WarningCause } from "../dist/diagnostics/warnings.js";
import { INBOX_MAX_BYTES, INBOX_MAX_MESSAGES, type Inbox } from "../dist/context/inbox.js";
import { LocalMessage, route } from "@hopwire/runtime";

// One warning per cause per interval, and a bounded table of causes. Each line reaches the
// sink with its warning in fields (the second argument), whose parts make up the line.

afterEach(() => {
  vi.useRealTimers();
});

/** A sink that keeps both of its arguments. */
function capture(): { lines: string[]; warnings: NodeWarning[]; sink: (line: string, warning: NodeWarning) => void } {
  const lines: string[] = [];
  const warnings: NodeWarning[] = [];
  return { lines, warnings, sink: (line, warning) => (lines.push(line), warnings.push(warning)) };
}

/** A "handler-error" cause whose body is `body`. */
function thrown(body: string): WarningCause {
  return { kind: "handler-error", worker: "w", what: "handleMessage", error: new Error("boom"), body };
}

describe("rate-limited warnings", () => {
  it("writes a cause once per interval and then says how many it held back", () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const { lines, warnings: seen, sink } = capture();
    const warnings = new RateLimitedWarnings(sink, "n");
    let built = 0;
    const describe = (): WarningCause => thrown(`text ${++built}`);
    warnings.warn("a", describe);
    warnings.warn("a", describe);
    warnings.warn("a", describe);
    warnings.warn("b", describe);
    expect(lines).toEqual(["hopwire [n] warning: text 1", "hopwire [n] warning: text 2"]);
    expect(built).toBe(2); // a held-back warning is never described
    expect(seen.map((w) => w.suppressed)).toEqual([0, 0]);
    expect(seen[0]!.parts).toEqual({ prefix: "hopwire [n] warning:", body: "text 1", suffix: "" });
    vi.advanceTimersByTime(WARNING_INTERVAL_MS);
    warnings.warn("a", describe);
    const more = ` (2 more like this in the last ${WARNING_INTERVAL_MS / 1000} s)`;
    expect(lines[2]).toBe(`hopwire [n] warning: text 3${more}`);
    expect(seen[2]).toMatchObject({ suppressed: 2, sharedLimit: false, parts: { prefix: "hopwire [n] warning:", body: "text 3", suffix: more } });
  });

  it("passes each kind's fields through, with the line's parts, and the parts make up the line", () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const { lines, warnings: seen, sink } = capture();
    const warnings = new RateLimitedWarnings(sink, undefined);
    const error = new Error("no such worker");
    const causes: WarningCause[] = [
      { kind: "denied", address: "echoer", from: "p1", flowControlId: "fc1", producerFlowControlId: "fc2", body: "denied body" },
      { kind: "dropped", address: "a".repeat(32), from: "relay", reason: "unknown-address", error, generated: true, body: "dropped body" },
      { kind: "handler-error", worker: "w", what: "process", error, body: "thrown body" },
    ];
    for (const cause of causes) warnings.warn(cause.kind, () => cause);
    vi.advanceTimersByTime(WARNING_INTERVAL_MS);
    for (const cause of causes) warnings.warn(cause.kind, () => cause); // written: the interval passed
    for (const cause of causes) warnings.warn(cause.kind, () => cause); // held back
    vi.advanceTimersByTime(WARNING_INTERVAL_MS);
    for (const cause of causes) warnings.warn(cause.kind, () => cause);
    expect(seen).toHaveLength(9);
    const more = ` (1 more like this in the last ${WARNING_INTERVAL_MS / 1000} s)`;
    for (const [i, warning] of seen.entries()) {
      const { body, ...fields } = causes[i % 3]!;
      const suppressed = i < 6 ? 0 : 1;
      const parts = { prefix: "hopwire warning:", body, suffix: suppressed ? more : "" };
      expect(warning).toEqual({ ...fields, suppressed, sharedLimit: false, parts });
      expect(lines[i]).toBe(`${parts.prefix} ${parts.body}${parts.suffix}`);
    }
  });

  it("tracks at most MAX_WARNING_CAUSES causes; the rest share one limit, and say so in the suffix", () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const { lines, warnings: seen, sink } = capture();
    const warnings = new RateLimitedWarnings(sink, undefined);
    for (let i = 0; i < MAX_WARNING_CAUSES + 100; i++) warnings.warn(`cause ${i}`, () => thrown(`cause ${i}`));
    expect(lines).toHaveLength(MAX_WARNING_CAUSES + 1);
    expect(lines.at(-1)).toContain("too many distinct ones");
    expect(seen.slice(0, -1).every((w) => !w.sharedLimit)).toBe(true);
    const shared = " [and other causes: too many distinct ones to list]";
    expect(seen.at(-1)).toMatchObject({ sharedLimit: true, suppressed: 0, parts: { body: `cause ${MAX_WARNING_CAUSES}`, suffix: shared } });
    vi.advanceTimersByTime(WARNING_INTERVAL_MS / 2);
    warnings.warn("one more", () => thrown("one more")); // the table is still full: held back with the 99
    expect(lines).toHaveLength(MAX_WARNING_CAUSES + 1);
    // Once the burst's causes have been quiet for an interval they are forgotten: a later cause gets
    // a line of its own, instead of sharing one with the burst for the life of the process.
    vi.advanceTimersByTime(WARNING_INTERVAL_MS);
    warnings.warn("yet another", () => thrown("yet another"));
    expect(seen.at(-1)).toMatchObject({ sharedLimit: false, suppressed: 0, parts: { body: "yet another", suffix: "" } });
    // The shared limit is kept, with its count: 100 of other causes held back.
    for (let i = 0; i < MAX_WARNING_CAUSES; i++) warnings.warn(`later ${i}`, () => thrown(`later ${i}`));
    expect(seen.at(-1)).toMatchObject({ sharedLimit: true, suppressed: 100 });
    expect(seen.at(-1)!.parts.suffix).toMatch(new RegExp(`^${shared.replace(/[[\]]/g, "\\$&")} \\(100 more like this in the last \\d+ s\\)$`));
  });

  it("escapes what could forge a line or drive a terminal, in the line but not in the fields", () => {
    const { lines, warnings: seen, sink } = capture();
    const warnings = new RateLimitedWarnings(sink, "n");
    const body = 'for "x\nhopwire [n] warning: FORGED\u001b[31m\u009b2J\u2028"';
    warnings.warn("a", () => thrown(body));
    expect(lines).toEqual(['hopwire [n] warning: for "x\\u000ahopwire [n] warning: FORGED\\u001b[31m\\u009b2J\\u2028"']);
    expect(seen[0]!.parts.body).toBe(body);
  });

  it("a sink that throws does not throw into the caller", () => {
    const warnings = new RateLimitedWarnings(() => {
      throw new Error("broken sink");
    }, undefined);
    expect(() => warnings.warn("a", () => thrown("x"))).not.toThrow();
  });
});

describe("the node's own inbox", () => {
  // A user trial (session 44): replies to a program's own sends that it never received grew
  // the node by ≈ 2.6 KB of RSS a reply, 601 MiB after 200,000, without a word.
  it("warns once its unreceived messages reach 8,192 (inbox-backlog), and never below that", async () => {
    const { warnings, sink } = capture();
    const n = await node({ warnings: sink });
    try {
      await n.startWorker("echo", { handleMessage: (ctx: Context, msg: Routed) => ctx.send(msg.returnRoute, msg.body) }, { placement: "main" });
      const backlog = () => warnings.filter((w) => w.kind === "inbox-backlog");
      for (let i = 0; i < 8191; i++) await n.send("echo", i);
      // 8,191 replies wait: no warning yet. The 8,192nd reaches the mark.
      await eventually(() => n.router.localMailbox("echo")!.isFull === false, 20_000, "the echoes handled");
      await new Promise((resolve) => setImmediate(resolve));
      expect(backlog()).toEqual([]);
      await n.send("echo", "marker");
      await eventually(() => backlog().length > 0, 20_000, "the inbox-backlog warning");
      expect(backlog()).toEqual([expect.objectContaining({ kind: "inbox-backlog", address: "app", messages: 8192 })]);
      expect(backlog()[0]!.parts.body).toMatch(/holds 8192 messages that no receive\(\) took/);
      // Received, they are all there, in order.
      for (let i = 0; i < 8191; i++) expect((await n.receive({ timeout: 5_000 })).body).toBe(i);
      expect((await n.receive({ timeout: 5_000 })).body).toBe("marker");
    } finally {
      await n.stop();
    }
  }, 60_000);

  // An adversarial review (session 56): after one plain send from the node to a peer, the reply rule lets that peer
  // deliver to "app"; it sent 200,000 messages nobody received (27 MiB of heap) and could go on without end.
  it("holds at most INBOX_MAX_MESSAGES, and INBOX_MAX_BYTES of payload, dropping past them with the count in its warning", async () => {
    const { warnings, sink } = capture();
    const n = await node({ warnings: sink });
    try {
      const inbox = n.router.localMailbox("app") as Inbox;
      const small = (i: number) => new LocalMessage(route("app"), route("peer"), Uint8Array.of(i & 0xff));
      for (let i = 0; i < INBOX_MAX_MESSAGES + 10; i++) inbox.deliver(small(i));
      expect(inbox.dropped).toBe(10);
      const backlog = warnings.filter((w) => w.kind === "inbox-backlog");
      expect(backlog.at(-1)).toEqual(expect.objectContaining({ messages: INBOX_MAX_MESSAGES, dropped: 1 }));
      expect(backlog.at(-1)!.parts.body).toMatch(new RegExp(`its bound \\(${INBOX_MAX_MESSAGES} messages, ${INBOX_MAX_BYTES} bytes\\): 1 dropped so far`));
      // What was kept is received, in order; then there is room again.
      for (let i = 0; i < INBOX_MAX_MESSAGES; i++) expect((await n.receive({ timeout: 5_000 })).payload[0]).toBe(i & 0xff);
      // Bytes: a 64 MiB bound holds 63 payloads of 1 MiB and drops the 65th.
      const mib = new Uint8Array(1024 * 1024);
      for (let i = 0; i < 65; i++) inbox.deliver(new LocalMessage(route("app"), route("peer"), mib));
      expect(inbox.dropped).toBe(10 + 65 - INBOX_MAX_BYTES / mib.length);
      await n.receive({ timeout: 5_000 });
      inbox.deliver(new LocalMessage(route("app"), route("peer"), mib));
      expect(inbox.dropped).toBe(10 + 65 - INBOX_MAX_BYTES / mib.length);
    } finally {
      await n.stop();
    }
  }, 60_000);
});
