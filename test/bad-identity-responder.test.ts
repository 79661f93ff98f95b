// A responder node survives handshakes it cannot run: a listener whose identity is no identity
// (had it slipped past createSecureChannelListener's checks) or whose crypto provider throws
// fails each handshake (the initiator is refused), and the node goes on serving its other
// listeners. The responder is a real child process; the initiator dials it over TCP. Before the
// fix, the first handshake's TypeError (at noiseStaticKeyFor) rejected an unawaited promise and
// ended the responder's process.
import { afterEach, describe, expect, it } from "vitest";
import { fileURLToPath } from "node:url";
import { node, route, type Node } from "@hopwire/runtime";
import { createTcpTransport, TcpConnectionOptions } from "@hopwire/transport-tcp";
import { createIdentity, createSecureChannel, SecureChannelRefusedError } from "@hopwire/secure-channel";
import { killAll, startChild } from "./support/children.js";

const script = fileURLToPath(new URL("./fixtures/channel/bad-identity-responder.mjs", import.meta.url));

let initiator: Node | undefined;

afterEach(async () => {
  killAll();
  await initiator?.stop();
  initiator = undefined;
});

describe("a responder with a listener that cannot run handshakes", () => {
  it("refuses those handshakes and keeps running: its other listener still accepts", async () => {
    const responder = startChild(script);
    const address = (await responder.line(/^LISTENING (\S+)$/))[1]!;
    initiator = await node({ name: "initiator" });
    const connection = await (await createTcpTransport(initiator)).connect(address, new TcpConnectionOptions());
    const alice = createIdentity();

    // Fails at once, saying why, if the responder's process ends (as it did at the first handshake).
    const died = responder.exited.then((code) => {
      throw new Error(`the responder exited (${code}): ${responder.lines.join(" | ")}`);
    });
    died.catch(() => undefined);

    for (const listener of ["slipped", "throwing", "slipped", "throwing"]) {
      const attempt = createSecureChannel(initiator, alice, route(connection, listener), { timeout: 20_000 });
      const error = await Promise.race([attempt, died]).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error, listener).toBeInstanceOf(SecureChannelRefusedError);
      expect((error as Error).message, listener).toContain("HANDSHAKE_FAILED");
    }

    // The same process, over the same connection: nothing went down with those handshakes.
    const channel = await createSecureChannel(initiator, alice, route(connection, "good"), { timeout: 20_000 });
    expect(await initiator.sendAndReceive(route(channel, "echo"), "still here")).toBe("still here");
    expect(responder.lines.filter((l) => l.startsWith("FAILED"))).toEqual([]);

    responder.tell("stop");
    await responder.line(/^STOPPED$/);
    expect(await responder.exited).toBe(0);
  });
});
