// A refused secure channel, seen from both ends: the initiator's SecureChannelRefusedError
// carries the responder's code as a typed `reason`; the responder's node raises a "refused"
// event and writes one rate-limited warning per cause, without DEBUG.
import { afterEach, describe, expect, it } from "vitest";
import { eventually } from "../../../test/support/eventually.js";
import { errorFromData, errorToData, LocalMessage, node, route, type Mailbox, type Node, type NodeWarning, type RefusedEvent } from "@hopwire/runtime";
import {
  createIdentity,
  createSecureChannel,
  createSecureChannelListener,
  exportIdentity,
  SECURE_CHANNEL_REFUSAL_CODES,
  SecureChannelRefusedError,
  trustCustom,
  trustIdentifier,
  TrustPolicyError,
  UntrustedIdentityError,
  type SecureChannelRefusalReason,
} from "@hopwire/secure-channel";
import { refusalReasonOf } from "../dist/secure-channel/channel-errors.js";

const nodes: Node[] = [];
afterEach(async () => {
  for (const n of nodes.splice(0)) await n.stop();
});

/** A node whose warnings go to `lines` / `warnings` (this suite turns stderr warnings off). */
async function watchedNode(): Promise<{ n: Node; lines: string[]; warnings: NodeWarning[]; events: RefusedEvent[] }> {
  const lines: string[] = [];
  const warnings: NodeWarning[] = [];
  const events: RefusedEvent[] = [];
  const n = await node({ warnings: (line, warning) => (lines.push(line), warnings.push(warning)) });
  n.on("refused", (event) => events.push(event));
  nodes.push(n);
  return { n, lines, warnings, events };
}

const refusal = (promise: Promise<unknown>) => promise.then(() => expect.fail("the channel opened"), (e: unknown) => e as SecureChannelRefusedError);

describe("the initiator: SecureChannelRefusedError.reason", () => {
  it("is the responder's refusal code, typed and kept across threads", async () => {
    const { n } = await watchedNode();
    const [alice, bob] = [createIdentity(), createIdentity()];
    await createSecureChannelListener(n, bob, "bob_listener", { trustPolicy: trustIdentifier(bob) });
    const error = await refusal(createSecureChannel(n, alice, route("bob_listener")));
    expect(error).toBeInstanceOf(SecureChannelRefusedError);
    expect(error.code).toBe("SECURE_CHANNEL_REFUSED");
    expect(error.reason).toBe("HANDSHAKE_UNTRUSTED_IDENTITY");
    const reason: SecureChannelRefusalReason = error.reason;
    expect(SECURE_CHANNEL_REFUSAL_CODES).toContain(reason);
    expect(error.message).toBe("The responder refused the secure channel (HANDSHAKE_UNTRUSTED_IDENTITY)");
    const rebuilt = errorFromData(errorToData(error));
    expect(rebuilt).toBeInstanceOf(SecureChannelRefusedError);
    expect((rebuilt as SecureChannelRefusedError).reason).toBe("HANDSHAKE_UNTRUSTED_IDENTITY");
  });

  it("an unknown code from a peer is surfaced as sent, made printable and cut at 64 characters", async () => {
    const n = await node({ warnings: false });
    nodes.push(n);
    const code = `FUTURE_CODE\u001b[31m\n${"X".repeat(100)}`;
    // A "listener" that answers any first message with a REFUSED notice of its own.
    const liar: Mailbox = {
      address: route("liar").next(),
      deliver(message: LocalMessage) {
        const body = new Uint8Array([3, ...new TextEncoder().encode(code)]);
        n.router.route(new LocalMessage(message.returnRoute, route("liar"), body), "liar");
      },
    };
    n.router.register([liar.address], liar);
    const error = await refusal(createSecureChannel(n, createIdentity(), route("liar")));
    expect(error).toBeInstanceOf(SecureChannelRefusedError);
    expect(error.reason).toBe(`FUTURE_CODE?[31m?${"X".repeat(64 - 17)}`);
    expect(error.reason).toHaveLength(64);
    expect(error.message).toContain(error.reason);
    expect(refusalReasonOf(new Uint8Array())).toBe("UNSPECIFIED");
    expect(refusalReasonOf(new TextEncoder().encode("HANDSHAKE_BUSY"))).toBe("HANDSHAKE_BUSY");
    expect(new SecureChannelRefusedError().reason).toBe("UNSPECIFIED");
  });
});

describe("the responder: a refused handshake is visible by default", () => {
  it('raises "refused" and writes one warning naming the listener, the peer and the trust policy', async () => {
    const { n, lines, warnings, events } = await watchedNode();
    const [alice, bob, carol] = [createIdentity(), createIdentity(), createIdentity()];
    await createSecureChannelListener(n, bob, "bob_listener", { trustPolicy: trustIdentifier(carol) });
    await refusal(createSecureChannel(n, alice, route("bob_listener")));
    await eventually(() => events.length === 1, 10_000, "the refused-handshake event");
    expect(events[0]).toMatchObject({ listener: "bob_listener", what: "a secure channel", peer: alice.identifier, reason: "HANDSHAKE_UNTRUSTED_IDENTITY" });
    expect(events[0]!.error).toBeInstanceOf(UntrustedIdentityError);
    expect(lines).toEqual([
      `hopwire warning: "bob_listener" refused a secure channel from ${alice.identifier}: its identity is not trusted ` +
        `(trust policy: expected ${carol.identifier}). If it should be, add its identifier to the listener's trustPolicy ` +
        `(e.g. trustIdentifiers([...])); the initiator gets SecureChannelRefusedError (reason HANDSHAKE_UNTRUSTED_IDENTITY).`,
    ]);
    expect(warnings[0]).toMatchObject({ kind: "refused", listener: "bob_listener", peer: alice.identifier, suppressed: 0 });
    // Identifiers only: no key of either side.
    for (const identity of [alice, bob]) {
      const { secretKey, publicKey } = exportIdentity(identity);
      expect(lines[0]).not.toContain(secretKey);
      expect(lines[0]).not.toContain(publicKey);
    }
  });

  it("a trust policy that never answers refuses at the listener's handshake timeout, and frees the handshake's slot", async () => {
    // A user trial: the initiator waited out its own timeout ("the responder answered, then sent no
    // CONFIRM"), the listener said nothing, and the pending handshake was held for good.
    const { n, lines, events } = await watchedNode();
    const [alice, bob] = [createIdentity(), createIdentity()];
    const listener = await createSecureChannelListener(n, bob, "bob_listener", { trustPolicy: trustCustom(() => new Promise<boolean>(() => {})), handshakeTimeout: 300 });
    const refused = await refusal(createSecureChannel(n, alice, route("bob_listener"), { timeout: 30_000 }));
    expect(refused).toBeInstanceOf(SecureChannelRefusedError);
    expect(refused.reason).toBe("TRUST_POLICY_FAILED");
    await eventually(() => events.length === 1 && listener.pendingHandshakes === 0, 10_000, "the refusal and the freed slot");
    expect(events[0]!.error).toBeInstanceOf(TrustPolicyError);
    expect((events[0]!.error.cause as Error).name).toBe("TimeoutError");
    expect(lines[0]).toMatch(/the listener's trust policy did not answer \(TimeoutError: The trust policy did not answer within 300 ms/);
  });

  it("a flood of refusals writes one line per cause: every refusal is an event, the rest are counted", async () => {
    const { n, lines, events } = await watchedNode();
    const bob = createIdentity();
    await createSecureChannelListener(n, bob, "bob_listener", { trustPolicy: trustIdentifier(bob) });
    await createSecureChannelListener(n, bob, "throwing", {
      trustPolicy: trustCustom(() => {
        throw new Error("policy store offline");
      }),
    });
    const strangers = Array.from({ length: 12 }, () => createIdentity());
    await Promise.all(strangers.map((s) => refusal(createSecureChannel(n, s, route("bob_listener")))));
    await refusal(createSecureChannel(n, createIdentity(), route("throwing")));
    await eventually(() => events.length === 13, 10_000, "13 refused-handshake events");
    expect(new Set(events.map((e) => e.peer)).size).toBe(13);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^hopwire warning: "bob_listener" refused a secure channel from I[0-9a-f]{64}: its identity is not trusted/);
    expect(lines[1]).toMatch(/^hopwire warning: "throwing" refused a secure channel from I[0-9a-f]{64}: the listener's trust policy threw \(Error: policy store offline\)/);
    expect(events.at(-1)!.error).toBeInstanceOf(TrustPolicyError);
    expect(events.at(-1)!.reason).toBe("TRUST_POLICY_FAILED");
  });

  it("warnings: false silences the line; the event is still raised", async () => {
    const n = await node({ warnings: false });
    nodes.push(n);
    const seen: RefusedEvent[] = [];
    n.on("refused", (event) => seen.push(event));
    const bob = createIdentity();
    await createSecureChannelListener(n, bob, "bob_listener", { trustPolicy: trustIdentifier(bob) });
    await refusal(createSecureChannel(n, createIdentity(), route("bob_listener")));
    await eventually(() => seen.length === 1, 10_000, "the one refusal seen");
  });

  it("an accepted channel, or an initiator that refuses the responder, is no refusal of the listener's", async () => {
    const { n, lines, events } = await watchedNode();
    const [alice, bob] = [createIdentity(), createIdentity()];
    await createSecureChannelListener(n, bob, "bob_listener");
    await createSecureChannel(n, alice, route("bob_listener"));
    // alice does not trust bob: she gives up after message 2, and tells the responder.
    await createSecureChannel(n, alice, route("bob_listener"), { trustPolicy: trustIdentifier(alice) }).catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(events).toEqual([]);
    expect(lines).toEqual([]);
  });
});
