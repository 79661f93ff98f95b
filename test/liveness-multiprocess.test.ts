import { afterEach, describe, expect, it } from "vitest";
import { fileURLToPath } from "node:url";
import { killAll, portOf, startChild, type Child } from "./support/children.js";

// Liveness across real processes: responder <- middle (relay, short keepalive settings,
// reconnect) <- initiator. Each process is in its own process group and killed after each test.
const fixtures = fileURLToPath(new URL("./fixtures/", import.meta.url));

afterEach(() => killAll());

/** The middle's settings (test/fixtures/liveness/middle.mjs). */
const PEER_TIMEOUT = 1_000;
/**
 * The responder's keepalive interval: well inside the middle's peer timeout, so that only a
 * frozen responder is declared dead (with the transport's default, 10 s, an idle one would be
 * too, 1 s after its last reply).
 */
const KEEPALIVE = 100;

function responder(address = "127.0.0.1:0"): Child {
  return startChild(`${fixtures}tcp/responder.mjs`, [address, String(KEEPALIVE)]);
}

async function listening(child: Child): Promise<string> {
  return (await child.line(/^LISTENING (\S+)$/))[1]!;
}

/** When the first line matching `pattern` that arrived after `since` arrived. */
async function stampOf(child: Child, pattern: RegExp, since: number): Promise<{ at: number; match: RegExpMatchArray }> {
  for (;;) {
    const i = child.lines.findIndex((l, k) => child.stamps[k]! >= since && pattern.test(l));
    if (i >= 0) return { at: child.stamps[i]!, match: child.lines[i]!.match(pattern)! };
    await child.nextLine(pattern);
  }
}

/** A first round trip through freshly started processes: seconds on a loaded machine, not a bound under test. */
const FIRST_REPLY_TIMEOUT = 30_000;

/**
 * The first round trip through freshly started processes (it waits as long as it must), by an
 * initiator that then holds its connection. Should the middle declare the responder dead before
 * the test froze or killed anything (a process starved for the 1 s peer timeout on a loaded
 * machine), that initiator fails and a new one tries.
 */
async function firstRoundTrip(middleAddress: string): Promise<Child> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const initiator = startChild(`${fixtures}liveness/initiator-hold.mjs`, [middleAddress, String(FIRST_REPLY_TIMEOUT)]);
    const reply = await Promise.race([initiator.line(/^REPLY (.*)$/).then((m) => m[1]), initiator.exited.then(() => undefined)]);
    if (reply !== undefined) {
      expect(reply).toBe('"Hello Ockam!"');
      return initiator;
    }
  }
  throw new Error("no first round trip through the middle");
}

/** Runs fresh initiators until one gets its reply through the middle (the responder may still be coming back). */
async function roundTripEventually(middleAddress: string): Promise<void> {
  for (let attempt = 0; attempt < 15; attempt++) {
    const initiator = startChild(`${fixtures}liveness/initiator-hold.mjs`, [`127.0.0.1:${portOf(middleAddress)}`]);
    const outcome = await Promise.race([
      initiator.line(/^REPLY (.*)$/).then((m) => m[1]),
      initiator.exited.then(() => undefined),
    ]);
    if (outcome === '"Hello Ockam!"') return;
  }
  throw new Error("no round trip through the middle after the responder came back");
}

describe("liveness across processes", () => {
  it("kill -9 of the responder: the middle notices at once, closes the initiator's inbound side, and reconnects to the restarted responder", async () => {
    const bob = responder();
    const bobAddress = await listening(bob);
    const middle = startChild(`${fixtures}liveness/middle.mjs`, [bobAddress, "builtin"]);
    const middleAddress = await listening(middle);
    const initiator = await firstRoundTrip(middleAddress);

    const killedAt = Date.now();
    process.kill(-bob.process.pid!, "SIGKILL");
    // The kernel closes a killed process's sockets: the middle sees it at once (≤ 1 s) ...
    const down = await stampOf(middle, /^OUTBOUND-DOWN (\S+)$/, killedAt);
    expect(down.at - killedAt).toBeLessThan(1_000);
    // ... and so does the initiator, whose inbound connection the middle closed (next-hop rule).
    const closed = await stampOf(initiator, /^CLOSED (\S+)$/, killedAt);
    expect(closed.at - killedAt).toBeLessThan(1_000);
    expect(await initiator.exited).toBe(0);

    // The responder restarts on the same port; the middle was not restarted.
    const again = responder(bobAddress);
    await listening(again);
    await stampOf(middle, /^OUTBOUND-UP \d+$/, killedAt); // may have come before this line runs
    await roundTripEventually(middleAddress);
  });

  it("a responder that stops answering without closing (SIGSTOP) is declared dead within the middle's peer timeout; the hello Relay's initiator is told; a restart works", async () => {
    const bob = responder();
    const bobAddress = await listening(bob);
    const middle = startChild(`${fixtures}liveness/middle.mjs`, [bobAddress, "hello"]);
    const middleAddress = await listening(middle);
    const initiator = await firstRoundTrip(middleAddress);

    const frozenAt = Date.now();
    process.kill(-bob.process.pid!, "SIGSTOP"); // no FIN, no RST: only the keepalives stop
    const down = await stampOf(middle, /^OUTBOUND-DOWN (\S+)$/, frozenAt);
    expect(down.match[1]).toBe("TCP_PEER_TIMEOUT");
    const detection = down.at - frozenAt;
    // Not before the bound (less the last keepalive's age), and after it only by scheduling lateness.
    expect(detection).toBeGreaterThanOrEqual(PEER_TIMEOUT - 200);
    expect(detection).toBeLessThan(PEER_TIMEOUT + 5_000);
    const closed = await stampOf(initiator, /^CLOSED (\S+)$/, frozenAt);
    expect(closed.at - down.at).toBeLessThan(1_000);

    // The frozen responder is killed and restarted on the same port: the middle's stale
    // connection was dropped, so the next connection reaches the new responder.
    process.kill(-bob.process.pid!, "SIGKILL");
    await bob.exited;
    const again = responder(bobAddress);
    await listening(again);
    await roundTripEventually(middleAddress);
  });
});
