// baseline/seed-floor-rtt, the seed's round trip in raw form: its frames must be AEAD records at
// both ends (the echo opens each request and seals each answer; a plaintext request fails it),
// cross the echo's thread, and go through the proxy. Real child processes, the compiled roles
// the bench runs, over loopback.
import { describe, expect, it } from "vitest";
import net from "node:net";
import { once } from "node:events";
import { standInForSpawn, withChildren } from "../dist/proc/spawn.js";
import { getScenario } from "../dist/scenario.js";
import "../dist/scenarios/index.js";
import { roundTrip } from "../dist/scenarios/baselines/tcp-topology.js";
import type { EchoReady, EchoResult } from "../dist/roles/echo.js";

const role = (name: string): URL => new URL(`../dist/roles/${name}.js`, import.meta.url);

describe("baseline/seed-floor-rtt", () => {
  it("makes round trips of sealed records through the proxy and the echo's thread", async () => {
    const m = await roundTrip({ size: 64, warmupMs: 50, durationMs: 200 }, new AbortController().signal, { viaProxy: true, threadEcho: true, sealed: true });
    expect(m.processes.map((p) => p.role)).toEqual(["client", "proxy", "echo"]);
    expect(m.metrics.find((x) => x.name === "rt/s")!.value).toBeGreaterThan(0);
  });

  it("is registered as that round trip: proxy, thread echo, sealed, read against the proxy's round trip", async () => {
    const spawned: { role: string; params: Record<string, unknown> }[] = [];
    const stop = new Error("only the spawn parameters are wanted");
    const rejected = (): Promise<never> => {
      const p = Promise.reject(stop);
      p.catch(() => undefined);
      return p;
    };
    standInForSpawn(((role: string, _script: URL, params: Record<string, unknown>) => {
      spawned.push({ role, params });
      return { ready: role === "echo" ? Promise.resolve({ port: 1, keys: ["a", "b"] }) : role === "proxy" ? Promise.resolve({ port: 2 }) : rejected(), result: rejected(), stop: () => undefined };
    }) as unknown as Parameters<typeof standInForSpawn>[0]);
    try {
      const floor = getScenario("baseline/seed-floor-rtt")!;
      expect(floor.baseline).toBe("baseline/tcp-proxy-rtt");
      await expect(floor.run({ size: 64, durationMs: 1000, warmupMs: 200 }, new AbortController().signal)).rejects.toThrow(stop.message);
    } finally {
      standInForSpawn(undefined);
    }
    expect(spawned.map((s) => s.role)).toEqual(["echo", "proxy", "client"]);
    expect(spawned[0]!.params).toMatchObject({ threadEcho: true, sealed: true });
    expect(spawned[2]!.params).toMatchObject({ port: 2, keys: ["a", "b"] });
  });

  it("has the echo refuse a request that is not a record under its key", async () => {
    const run = withChildren(new AbortController().signal, 30_000, async (spawn) => {
      const echo = spawn<EchoReady, EchoResult>("echo", role("echo"), { tls: false, threadEcho: true, sealed: true });
      const { port, keys } = await echo.ready;
      expect(keys).toHaveLength(2);
      const socket = net.connect({ port, host: "127.0.0.1" });
      socket.on("error", () => {});
      await once(socket, "connect");
      const frame = Buffer.alloc(4 + 64, 0); // channel 0, nonce 0: a record's shape, not one sealed under the key
      frame.writeUInt32BE(64, 0);
      socket.write(frame);
      try {
        return (await echo.result).data;
      } finally {
        socket.destroy();
      }
    });
    await expect(run).rejects.toThrow(/authenticate/);
  });
});
