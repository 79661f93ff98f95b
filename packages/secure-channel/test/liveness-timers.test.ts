// This thread's liveness timers (one Node timer for every channel end's): each holder is
// called once, at or after its due time, earliest first, unless it was cancelled or re-armed.
import { describe, expect, it, vi } from "vitest";
import { Address, LocalMessage, node, route } from "@hopwire/runtime";
import { createIdentity, createSecureChannel, createSecureChannelListener, SecureChannelListenerOptions, SecureChannelOptions } from "@hopwire/secure-channel";
import { livenessTimers, type LivenessHolder } from "../dist/secure-channel/liveness-timers.js";

class Holder implements LivenessHolder {
  livenessSlot = -1;
  readonly calls: { due: number; at: number }[] = [];
  constructor(readonly name: number, readonly log: Holder[]) {}
  livenessDue(due: number): void {
    this.calls.push({ due, at: performance.now() });
    this.log.push(this);
  }
}

/** Resolves once `done()` holds (looked at every 5 ms), or after `ms` whatever: a loaded machine runs timers late. */
async function until(done: () => boolean, ms = 10_000): Promise<void> {
  const start = performance.now();
  while (!done() && performance.now() - start < ms) await new Promise((resolve) => setTimeout(resolve, 5));
}

describe("LivenessTimers", () => {
  it("calls each armed holder once, not before its due time, earliest first; cancelled ones never, re-armed ones at their new time", async () => {
    const log: Holder[] = [];
    const holders = Array.from({ length: 60 }, (_, i) => new Holder(i, log));
    const now = performance.now();
    const dues = holders.map((_, i) => now + 5 + ((i * 37) % 50)); // 5-54 ms ahead, in no order
    holders.forEach((h, i) => livenessTimers.arm(h, dues[i]!));
    for (const h of holders.slice(0, 10)) livenessTimers.cancel(h);
    for (const h of holders.slice(10, 15)) livenessTimers.arm(h, now + 70); // in place of their first time
    livenessTimers.cancel(holders[0]!); // again: nothing
    // Every time armed is past once the last holder is called: a cancelled one would have been called by then.
    await until(() => log.length >= 50);
    for (const h of holders.slice(0, 10)) expect(h.calls).toEqual([]);
    for (const h of holders.slice(10)) {
      expect(h.calls.length, `holder ${h.name}`).toBe(1);
      const expected = h.name < 15 ? now + 70 : dues[h.name]!;
      expect(h.calls[0]!.due).toBe(expected);
      expect(h.calls[0]!.at).toBeGreaterThanOrEqual(expected);
      expect(h.livenessSlot).toBe(-1);
    }
    const firedDues = log.map((h) => h.calls[0]!.due);
    expect(firedDues).toEqual([...firedDues].sort((a, b) => a - b));
  });

  it("lets a holder arm again while it is called, and keeps the others' times", async () => {
    const log: Holder[] = [];
    const again = new Holder(0, log);
    const other = new Holder(1, log);
    const now = performance.now();
    let rearmed = false;
    again.livenessDue = (due) => {
      Holder.prototype.livenessDue.call(again, due);
      if (!rearmed) {
        rearmed = true;
        livenessTimers.arm(again, performance.now() + 30);
      }
    };
    livenessTimers.arm(again, now + 5);
    livenessTimers.arm(other, now + 15);
    await until(() => again.calls.length >= 2 && other.calls.length >= 1);
    expect(again.calls.length).toBe(2);
    expect(other.calls.length).toBe(1);
    expect(other.calls[0]!.at).toBeGreaterThanOrEqual(now + 15);
    expect(log.map((h) => h.name)).toEqual([0, 1, 0]);
  });

  it("a Node timer made under a test's fake timers is given up once it is long overdue: later real arms fire (a review's catch)", async () => {
    const log: Holder[] = [];
    const idle = new Holder(1, log);
    livenessTimers.arm(idle, performance.now() + 60_000); // an idle channel's, armed with real timers
    vi.useFakeTimers(); // fakes performance.now too: the heap's Node timer becomes a fake one, due near 0
    const faked = new Holder(2, log);
    try {
      livenessTimers.arm(faked, performance.now() + 50);
    } finally {
      vi.useRealTimers();
    }
    livenessTimers.cancel(faked);
    const real = new Holder(3, log);
    livenessTimers.arm(real, performance.now() + 20);
    try {
      await until(() => log.includes(real));
      expect(log).toEqual([real]);
    } finally {
      livenessTimers.cancel(idle);
      livenessTimers.cancel(real);
    }
  });

  it("a channel end whose heartbeat's route failed is not armed again (it closed inside its own timer's call)", async () => {
    const n = await node();
    try {
      const listener = await createSecureChannelListener(n, await createIdentity(), "bob", new SecureChannelListenerOptions().withPeerTimeout(3000));
      await n.startWorker("echo", { handleMessage: (ctx, msg) => ctx.send(msg.returnRoute, msg.body) }, { placement: "main" });
      n.flowControls.addConsumer("echo", listener.flowControlId);
      // A hop on the path that starts refusing everything, for a reason that is not load: the route fails.
      const hopAddress = Address.parse("hop");
      let broken = false;
      n.router.register([hopAddress], {
        address: hopAddress,
        deliver(message: LocalMessage) {
          if (broken) throw new Error("the hop broke");
          n.router.route(message.withOnwardRoute(message.onwardRoute.popFront()).withReturnRoute(message.returnRoute.prepend(hopAddress)), hopAddress.key);
        },
      });
      const channel = await createSecureChannel(n, await createIdentity(), route("hop", "bob"), new SecureChannelOptions().withPeerTimeout(3000).withKeepaliveInterval(100));
      expect(await n.sendAndReceive(route(channel, "echo"), "x")).toBe("x");
      const armedClosed: string[] = [];
      const arm = livenessTimers.arm.bind(livenessTimers);
      livenessTimers.arm = (holder: LivenessHolder, due: number) => {
        if ((holder as { state?: string }).state === "closed") armedClosed.push(String((holder as { role?: string }).role));
        arm(holder, due);
      };
      try {
        broken = true; // the next heartbeat's route fails and closes the initiator's end
        expect((await channel.closed).message).toMatch(/The route to the peer failed: the hop broke/);
      } finally {
        livenessTimers.arm = arm;
      }
      expect(armedClosed).toEqual([]);
    } finally {
      await n.stop();
    }
  });
});
