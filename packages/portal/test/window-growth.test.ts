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
});
