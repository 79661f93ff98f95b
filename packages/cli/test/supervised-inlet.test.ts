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
      const { code, err } = await hopwireHere("--home", newHome(), "inlet", "--trust-anyone", "--from", from, "--via", via);
      expect(code).toBe(1);
      expect(err).toEqual([`hopwire: Could not listen on ${from}: listen EADDRINUSE: address already in use ${from} (PORTAL_LISTEN)`]);
    } finally {
      busy.close();
      removeHomes();
    }
  });
});

describe("an inlet whose --via does not answer at start-up", () => {
  // It said only "Could not connect to …: connect ECONNREFUSED" (a user trial, session 56): not which flag, nor that an
  // inlet, unlike an outlet's relay registration, does not wait for the node at --via.
  it("names --via and the node expected there, and says it does not retry at start-up (in this process)", async () => {
    const { createServer } = await import("node:net");
    const { once } = await import("node:events");
    const { hopwireHere, newHome, removeHomes } = await import("./processes.js");
    const unused = createServer().listen(0, "127.0.0.1");
    await once(unused, "listening");
    const via = `127.0.0.1:${(unused.address() as { port: number }).port}`;
    await new Promise((resolve) => unused.close(resolve)); // nothing answers at --via
    try {
      const relayed = await hopwireHere("--home", newHome(), "inlet", "--trust-anyone", "--from", "127.0.0.1:0", "--via", `bob@${via}`);
      expect(relayed.code).toBe(1);
      expect(relayed.err).toHaveLength(1);
      expect(relayed.err[0]).toMatch(new RegExp(`^hopwire: Could not connect to ${via}: connect ECONNREFUSED .*: is the relay node \\(hopwire relay --listen\\) running at --via ${via} \\(inlets\\[\\]\\.via\\)\\? An inlet opens its secure channel once at start-up and exits 1 if it cannot .* \\(TCP_CONNECT_FAILED\\)$`));
      const direct = await hopwireHere("--home", newHome(), "inlet", "--trust-anyone", "--from", "127.0.0.1:0", "--via", via);
      expect(direct.code).toBe(1);
      expect(direct.err[0]).toContain(`is the outlet's node (hopwire outlet --listen) running at --via ${via}`);
    } finally {
      removeHomes();
    }
  });
});
