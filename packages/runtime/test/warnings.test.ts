import { afterEach, describe, expect, it, vi } from "vitest";
import { MAX_WARNING_CAUSES, WARNING_INTERVAL_MS } from "@hopwire/runtime";
import { RateLimitedWarnings } from "../dist/diagnostics/warnings.js";

// One warning per cause per interval, and a bounded table of causes.

afterEach(() => {
  vi.useRealTimers();
});

describe("rate-limited warnings", () => {
  it("writes a cause once per interval and then says how many it held back", () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const lines: string[] = [];
    const warnings = new RateLimitedWarnings((line) => lines.push(line), "n");
    let built = 0;
    const text = (): string => `text ${++built}`;
    warnings.warn("a", text);
    warnings.warn("a", text);
    warnings.warn("a", text);
    warnings.warn("b", text);
    expect(lines).toEqual(["hopwire [n] warning: text 1", "hopwire [n] warning: text 2"]);
    expect(built).toBe(2); // the text of a held-back warning is never built
    vi.advanceTimersByTime(WARNING_INTERVAL_MS);
    warnings.warn("a", text);
    expect(lines[2]).toBe(`hopwire [n] warning: text 3 (2 more like this in the last ${WARNING_INTERVAL_MS / 1000} s)`);
  });

  it("tracks at most MAX_WARNING_CAUSES causes; the rest share one limit", () => {
    const lines: string[] = [];
    const warnings = new RateLimitedWarnings((line) => lines.push(line), undefined);
    for (let i = 0; i < MAX_WARNING_CAUSES + 100; i++) warnings.warn(`cause ${i}`, () => `cause ${i}`);
    expect(lines).toHaveLength(MAX_WARNING_CAUSES + 1);
    expect(lines.at(-1)).toContain("too many distinct ones");
  });

  it("a sink that throws does not throw into the caller", () => {
    const warnings = new RateLimitedWarnings(() => {
      throw new Error("broken sink");
    }, undefined);
    expect(() => warnings.warn("a", () => "x")).not.toThrow();
  });
});
