import { describe, expect, it } from "vitest";
import { DEFAULT_HANDSHAKE_TIMEOUT } from "@hopwire/secure-channel";
import { REOPEN_HANDSHAKE_TIMEOUT_MS, nextFailures, reopenHandshakeTimeout } from "../dist/node/supervised-inlet.js";
import { TimeoutError } from "@hopwire/runtime";
import { ConnectError } from "@hopwire/transport-tcp";

describe("an inlet opening its lost channel again", () => {
  it("waits 2 s for a handshake at first, doubling with each handshake that timed out, up to the default handshake timeout", () => {
    expect(REOPEN_HANDSHAKE_TIMEOUT_MS).toBe(2_000);
    expect([0, 1, 2, 3, 4, 60].map(reopenHandshakeTimeout)).toEqual([2_000, 4_000, 8_000, DEFAULT_HANDSHAKE_TIMEOUT, DEFAULT_HANDSHAKE_TIMEOUT, DEFAULT_HANDSHAKE_TIMEOUT]);
    expect(DEFAULT_HANDSHAKE_TIMEOUT).toBe(10_000);
  });
});

describe("an inlet's wait between tries", () => {
  // Refusals while a relay node restarted were counted on after it was back: the inlet waited seconds more once the
  // outlet had registered again (a user trial: 8 s of a 10.6 s recovery).
  it("grows with refused connections, and starts over after a handshake timed out (its connection went through)", () => {
    const refused = new ConnectError("refused");
    let failures = 0;
    for (let i = 0; i < 5; i++) failures = nextFailures(failures, refused);
    expect(failures).toBe(5);
    expect(nextFailures(failures, new TimeoutError("no answer"))).toBe(1);
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

/** "127.0.0.1:P" where nothing listens now (a port the system gave, then let go). */
async function closedPort(): Promise<string> {
  const { createServer } = await import("node:net");
  const { once } = await import("node:events");
  const unused = createServer().listen(0, "127.0.0.1");
  await once(unused, "listening");
  const address = `127.0.0.1:${(unused.address() as { port: number }).port}`;
  await new Promise((resolve) => unused.close(resolve));
  return address;
}

describe("an inlet whose --via does not answer at start-up", () => {
  // It exited 1 at once ("Could not connect to …: connect ECONNREFUSED"), where an outlet started before its relay node
  // waits for it: started in the wrong order, the three commands needed a restart by hand (a user trial, session 56).
  it("waits for it, saying each try in the command's terms, and opens once the outlet's node is there (as processes)", async () => {
    const { hopwire, newHome, removeHomes, terminate } = await import("./processes.js");
    const via = await closedPort(); // nothing answers at --via, yet
    const home = newHome();
    try {
      const inlet = hopwire(["--home", home, "inlet", "--trust-anyone", "--from", "127.0.0.1:0", "--via", via]);
      // --from 127.0.0.1:0: each line names the port the inlet will listen on, not 0, and it then listens there.
      const tried = new RegExp(
        `inlet 127\\.0\\.0\\.1:(\\d+): could not open its secure channel \\(Could not connect to ${via}: connect ECONNREFUSED .*: ` +
          `is the outlet's node \\(hopwire outlet --listen\\) running at --via ${via} \\(inlets\\[\\]\\.via\\)\\?\\); retrying in \\d+ ms$`,
      );
      const port = Number((await inlet.line(tried))[1]);
      expect(port).toBeGreaterThan(0);
      const outlet = hopwire(["--home", home, "outlet", "--trust-anyone", "--to", "127.0.0.1:9", "--listen", via]);
      await inlet.line(new RegExp(` inlet 127\\.0\\.0\\.1:${port} -> .* \\(secure channel to I[0-9a-f]{64}\\)$`));
      expect(inlet.lines.filter((l) => / inlet 127\.0\.0\.1:0\b/.test(l))).toEqual([]);
      await inlet.line(/ ready$/);
      expect(inlet.stderr()).toBe("");
      await terminate(inlet);
      await terminate(outlet);
    } finally {
      removeHomes();
    }
  });

  it("on --from host:0, says so and listens on another port if a process took the one it named meanwhile (as processes)", async () => {
    const { createServer } = await import("node:net");
    const { once } = await import("node:events");
    const { hopwire, newHome, removeHomes, terminate } = await import("./processes.js");
    const via = await closedPort(); // nothing answers at --via, yet
    const home = newHome();
    const squatter = createServer();
    try {
      const inlet = hopwire(["--home", home, "inlet", "--trust-anyone", "--from", "127.0.0.1:0", "--via", via]);
      const port = Number((await inlet.line(/ inlet 127\.0\.0\.1:(\d+): could not open its secure channel /))[1]);
      squatter.listen(port, "127.0.0.1");
      await once(squatter, "listening");
      const outlet = hopwire(["--home", home, "outlet", "--trust-anyone", "--to", "127.0.0.1:9", "--listen", via]);
      await inlet.line(new RegExp(` inlet 127\\.0\\.0\\.1:${port}: another process took that port meanwhile; listening on another \\(127\\.0\\.0\\.1:0 asks for any\\)$`));
      const other = Number((await inlet.line(/ inlet 127\.0\.0\.1:(\d+) -> .* \(secure channel to I[0-9a-f]{64}\)$/))[1]);
      expect(other).not.toBe(port);
      expect(other).toBeGreaterThan(0);
      await terminate(inlet);
      await terminate(outlet);
    } finally {
      squatter.close();
      removeHomes();
    }
  });

  it("asks whether --via's host name is spelt right when it does not resolve, and retries (it may be a host not up yet)", async () => {
    const { hopwire, newHome, removeHomes } = await import("./processes.js");
    try {
      const inlet = hopwire(["--home", newHome(), "inlet", "--trust-anyone", "--from", "127.0.0.1:0", "--via", "no-such-host.invalid:4000"]);
      await inlet.line(/could not open its secure channel \(.*ENOTFOUND.*: is the host name of --via no-such-host\.invalid:4000 \(inlets\[\]\.via\) spelt right\?\); retrying in \d+ ms$/);
      inlet.process.kill("SIGTERM");
      expect(await inlet.exited).toBe(0);
    } finally {
      removeHomes();
    }
  });

  it("still stops at once on what retrying would not change: an outlet's node that does not trust it (in this process)", async () => {
    const { hopwire, hopwireHere, newHome, removeHomes, terminate } = await import("./processes.js");
    const home = newHome();
    try {
      const outlet = hopwire(["--home", home, "outlet", "--trust", `I${"ab".repeat(32)}`, "--to", "127.0.0.1:9", "--listen", "127.0.0.1:0"]);
      const [, port] = (await outlet.line(/ tcp listener 127\.0\.0\.1:(\d+)/)) as RegExpMatchArray;
      const refused = await hopwireHere("--home", home, "inlet", "--trust-anyone", "--from", "127.0.0.1:0", "--via", `127.0.0.1:${port}`);
      expect(refused.code).toBe(1);
      expect(refused.err.join("\n")).toContain("HANDSHAKE_UNTRUSTED_IDENTITY");
      expect(refused.out.some((l) => l.includes("retrying"))).toBe(false);
      await terminate(outlet);
    } finally {
      removeHomes();
    }
  });
});
