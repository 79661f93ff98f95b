// The window growth an inlet's or an outlet's streams share: what one takes, another cannot,
// and what an ended stream gives back is available again (never more than the budget).
import { describe, expect, it } from "vitest";
import { WindowGrowth } from "../dist/stream/window-growth.js";

describe("WindowGrowth", () => {
  it("grants growth while the budget has room, refuses past it, and takes back what ended streams give", () => {
    const growth = new WindowGrowth(1000);
    expect(growth.take(600)).toBe(true);
    expect(growth.take(600)).toBe(false); // all or nothing
    expect(growth.left).toBe(400);
    expect(growth.take(400)).toBe(true);
    expect(growth.take(1)).toBe(false);
    growth.give(600);
    expect(growth.left).toBe(600);
    growth.give(10_000); // a confused caller cannot raise the budget
    expect(growth.left).toBe(1000);
  });

  it("a share takes from its own budget and its parent's, and gives back to both", () => {
    const all = new WindowGrowth(1000);
    const a = new WindowGrowth(400, all);
    const b = new WindowGrowth(400, all);
    expect(a.take(300)).toBe(true);
    expect(a.take(200)).toBe(false); // past a's share, though the parent has room
    expect(all.left).toBe(700);
    expect(b.take(400)).toBe(true);
    const c = new WindowGrowth(400, all);
    expect(c.take(301)).toBe(false); // within c's share, past the parent's room: nothing taken from either
    expect([c.left, all.left]).toEqual([400, 300]);
    a.give(10_000); // no more than a took goes back to the parent
    expect([a.left, all.left]).toEqual([400, 600]);
  });
});
