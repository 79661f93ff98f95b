// Dead peers behind a relay, with real processes killed with SIGKILL: the middle keeps its
// connections to the survivors, so no TCP event reaches the far end, and only the channels'
// heartbeats can tell. Detection is checked against the configured peer timeout (short here).
import { afterEach, describe, expect, it } from "vitest";
import { fileURLToPath } from "node:url";
import { killAll, startChild, type Child } from "./support/children.js";

const fixtures = fileURLToPath(new URL("./fixtures/channel/", import.meta.url));
const PEER_TIMEOUT = 2_000;
/** Heartbeats go at least a third of the peer timeout apart, so the last one is at most this old at a kill. */
const KEEPALIVE = PEER_TIMEOUT / 3;
/** Generous: the machine is loaded, and child output takes a while to arrive. */
const SLACK = 6_000;

afterEach(() => killAll());

function start(script: string, ...args: string[]): Child {
  return startChild(`${fixtures}${script}`, args);
}

async function listening(child: Child): Promise<string> {
  return (await child.line(/^LISTENING (\S+)$/))[1]!;
}

/** When the n-th line matching `pattern` arrived after index `from` (Date.now()), waiting for it. */
async function nthLineAt(child: Child, pattern: RegExp, n: number, from: number, timeoutMs: number): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const stamps = child.lines.flatMap((l, i) => (i >= from && pattern.test(l) ? [child.stamps[i]!] : []));
    if (stamps.length >= n) return stamps;
    if (Date.now() > deadline) throw new Error(`only ${stamps.length} of ${n} lines matching ${pattern} in time`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("dead peers behind a relay", () => {
  it("kill -9 the process of five initiators: the responder frees their channels within the peer timeout; a sixth, idle but alive in another process, stays open", async () => {
    const responder = start("responder.mjs", String(PEER_TIMEOUT));
    const middle = start("middle.mjs", await listening(responder));
    const middleAddress = await listening(middle);
    // Initiators with default settings: the responder's timeout, announced at open, sets their
    // heartbeats. The five victims share a process and its connection to the middle (a process
    // costs ~0.3 s of CPU to start): its death is one closed connection at the middle, and none
    // at the responder, as five processes' would be.
    const victims = start("initiator.mjs", middleAddress, "", "5");
    const survivor = start("initiator.mjs", middleAddress);
    await Promise.all([victims, survivor].map((i) => i.line(/^OPEN$/)));
    await responder.line(/^CHANNELS 6$/);

    const from = responder.lines.length;
    const killedAt = Date.now();
    process.kill(-victims.process.pid!, "SIGKILL");
    const closed = await nthLineAt(responder, /^CLOSED SECURE_CHANNEL_PEER_GONE$/, 5, from, PEER_TIMEOUT + SLACK + 10_000);
    for (const at of closed) {
      expect(at - killedAt).toBeGreaterThanOrEqual(PEER_TIMEOUT - KEEPALIVE - 100);
      expect(at - killedAt).toBeLessThan(PEER_TIMEOUT + SLACK);
    }
    await responder.line(/^CHANNELS 1$/);

    // The survivor sat idle through all of it (several timeouts) and its channel still works.
    const idleUntil = Date.now() + 2 * PEER_TIMEOUT;
    while (Date.now() < idleUntil) await new Promise((resolve) => setTimeout(resolve, 50));
    survivor.tell("ping");
    expect((await survivor.line(/^PONG (.*)$/))[1]).toBe("ping");
    expect(survivor.lines).not.toContainEqual(expect.stringMatching(/^CLOSED/));
    expect(responder.lines.filter((l) => l.startsWith("CLOSED"))).toHaveLength(5);
  });

  it("kill -9 the responder: the initiator's channel closes within its peer timeout (at once: the middle closes the connection that fed the dead hop), and its pending request fails with it", async () => {
    const responder = start("responder.mjs");
    const middle = start("middle.mjs", await listening(responder));
    const initiator = start("initiator.mjs", await listening(middle), String(PEER_TIMEOUT));
    await initiator.line(/^OPEN$/);

    const killedAt = Date.now();
    process.kill(-responder.process.pid!, "SIGKILL");
    // The middle's transport sees its connection to the responder reset and closes the
    // accepted connection that fed it (docs/transport-tcp.md, "next-hop rule"), so the
    // initiator's channel closes as a transport error, before its own peer timeout.
    const [line, code] = await initiator.line(/^CLOSED (\S+)$/);
    const at = initiator.stamps[initiator.lines.indexOf(line)]!;
    expect(code).toBe("SECURE_CHANNEL_TRANSPORT_FAILED");
    expect(at - killedAt).toBeLessThan(PEER_TIMEOUT + SLACK);
    // The request left pending (timeout 120 s) fails with the channel's reason at once.
    expect((await initiator.line(/^PENDING_FAILED (\S+)$/))[1]).toBe("SECURE_CHANNEL_TRANSPORT_FAILED");
  });
});
