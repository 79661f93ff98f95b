import { describe, expect, it } from "vitest";
import { DEFAULT_HANDSHAKE_TIMEOUT } from "@hopwire/secure-channel";
import { REOPEN_HANDSHAKE_TIMEOUT_MS, reopenHandshakeTimeout } from "../dist/node/supervised-inlet.js";

describe("an inlet opening its lost channel again", () => {
  it("waits 2 s for a handshake at first, doubling with each handshake that timed out, up to the default handshake timeout", () => {
    expect(REOPEN_HANDSHAKE_TIMEOUT_MS).toBe(2_000);
    expect([0, 1, 2, 3, 4, 60].map(reopenHandshakeTimeout)).toEqual([2_000, 4_000, 8_000, DEFAULT_HANDSHAKE_TIMEOUT, DEFAULT_HANDSHAKE_TIMEOUT, DEFAULT_HANDSHAKE_TIMEOUT]);
    expect(DEFAULT_HANDSHAKE_TIMEOUT).toBe(10_000);
  });
});

describe("an inlet whose --from is taken", () => {
  // It opened its secure channel first: a taken port was said only once trust and the relay were right.
  it("says so before it opens its secure channel, as the other commands word it (in this process)", async () => {
    const { createServer } = await import("node:net");
    const { once } = await import("node:events");
    const { hopwireHere, newHome, removeHomes } = await import("./processes.js");
    const busy = createServer().listen(0, "127.0.0.1");
    const unused = createServer().listen(0, "127.0.0.1");
    await Promise.all([once(busy, "listening"), once(unused, "listening")]);
    const from = `127.0.0.1:${(busy.address() as { port: number }).port}`;
    const via = `127.0.0.1:${(unused.address() as { port: number }).port}`;
    await new Promise((resolve) => unused.close(resolve)); // nothing answers at --via
    try {
      const { code, err } = await hopwireHere("--home", newHome(), "inlet", "--from", from, "--via", via);
      expect(code).toBe(1);
      expect(err).toEqual([`hopwire: Could not listen on ${from}: listen EADDRINUSE: address already in use ${from} (PORTAL_LISTEN)`]);
    } finally {
      busy.close();
      removeHomes();
    }
  });
});
