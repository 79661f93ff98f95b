// SharedHold: what a shared-credit channel's encryptor takes past its queue's limits, per feeder and in all.
import { describe, expect, it } from "vitest";
import { MailboxBound, route } from "@hopwire/runtime";
import { SharedHold } from "../dist/secure-channel/shared-hold.js";

const MiB = 2 ** 20;

describe("SharedHold", () => {
  it("lets each feeder past a full queue up to its share, all of them up to the total, and counts again once the queue has room", async () => {
    const bound = new MailboxBound({ maxMessages: 1_000_000, maxBytes: 4 * MiB });
    let spent = false;
    let holds = 0;
    const hold = new SharedHold(bound, 16 * MiB, 40 * MiB, () => spent, () => holds++);
    const feed = (feeder: string, bytes: number): boolean => {
      bound.add(bytes);
      hold.took(route(feeder, "x"), bytes);
      return bound.isFull && hold.feederMustWait();
    };
    // Under the queue's own bound nothing is counted.
    expect(feed("a", 4 * MiB - 1)).toBe(false);
    expect(hold.held).toBe(0);
    // Full from here: a takes 16 MiB before it is told so; b then has its own share.
    expect(feed("a", MiB)).toBe(false);
    // Holding, but nobody paused yet: the channel's stall clock does not run (a slow peer that holds nobody up).
    expect(hold.held).toBe(MiB);
    expect([hold.pausing, holds]).toEqual([false, 0]);
    let a = 1;
    while (!feed("a", MiB)) a++;
    expect(a).toBe(15);
    expect([hold.pausing, holds]).toEqual([true, 1]);
    expect(feed("b", MiB)).toBe(false);
    expect(hold.held).toBe(17 * MiB);
    // The first pause started the channel's stall clock, once: not at each feeder or delivery.
    expect(holds).toBe(1);
    // The total (40 MiB) tells every feeder, new ones too.
    let b = 1;
    while (!feed("b", MiB)) b++;
    expect(b).toBe(15);
    let c = 0;
    while (!feed("c", MiB)) c++;
    expect(c).toBe(7);
    expect(hold.held).toBe(40 * MiB);
    // Room (under half the bound) starts the count again.
    bound.release(0, bound.bytes - MiB);
    await new Promise((r) => setTimeout(r, 10));
    expect(hold.held).toBe(0);
    expect(feed("a", 3 * MiB)).toBe(false);
    expect(feed("a", MiB)).toBe(false);
    expect([hold.pausing, holds]).toEqual([false, 1]);
    // A spent budget tells everyone at once: a new pause after room, whose clock starts again.
    spent = true;
    expect(feed("d", 1)).toBe(true);
    expect([hold.pausing, holds]).toEqual([true, 2]);
  });
});
