import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { CHANNEL_KEPT_HEAD_BYTES } from "@hopwire/secure-channel";

// A channel end decodes the envelopes its peer sends, and the peer chooses their heads (up to
// 64 KiB of routes: 255 addresses of up to 1 KiB). What the end kept of them after the messages
// were gone was bounded by count, not by size: the last head's routes (≈ 80 KiB for 255 hops of
// 244 characters), the encoded head of its last answer along such a return route (≈ 64 KiB),
// 16 kept heads of ≈ 1 KiB (≈ 65 KiB with their routes) and the next hops its RouteMemo
// remembered (up to 1,024, with a weak set of the hops seen once: ≈ 150 KiB). Session 56 measured
// ≈ 205 KiB per channel beyond an ordinary one's ≈ 7 KiB, on each of a listener's 16,384.
const FIXTURE = fileURLToPath(new URL("./fixtures/peer-heads-memory.mjs", import.meta.url));

describe("what a channel end keeps from its peer's heads", () => {
  it("a hostile peer's heads leave a channel at most ~16 KiB more than ordinary traffic does (≈ 205 KiB before)", async () => {
    // Heap figures show only after full collections: the fixture runs with --expose-gc, the peer in a child of its own.
    const out = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, ["--expose-gc", FIXTURE, "100"], { cwd: fileURLToPath(new URL(".", import.meta.url)), timeout: 90_000 }, (error, stdout, stderr) =>
        error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(stdout),
      ),
    );
    const result = JSON.parse(out.trim().split("\n").pop()!) as { channels: number; ordinary: number; hostile: number; keptHeadBytes: number | null; keptAfterClose: number | null };
    expect(result.channels).toBe(240);
    expect(result.hostile - result.ordinary, `per channel: hostile ${result.hostile} B, ordinary ${result.ordinary} B`).toBeLessThan(16 * 1024);
    // The heads the channels keep are charged to the node's budget, each channel's within its bound, and given back as they close.
    expect(result.keptHeadBytes).not.toBeNull();
    expect(result.keptHeadBytes!).toBeGreaterThan(0);
    expect(result.keptHeadBytes!).toBeLessThanOrEqual(result.channels * CHANNEL_KEPT_HEAD_BYTES);
    expect(result.keptAfterClose).toBe(0);
  });
});
