import { FORWARDER_PREFIX } from "@hopwire/runtime";
import type { RefusalCode } from "./errors.js";

/**
 * The relay service's messages, msgpack bodies on a secure channel between a registrant
 * and the service. Every request carries a random `id` that its reply echoes, so a reply
 * is matched to its request and a stray message to the registrant's address cannot pass
 * for one.
 *
 *   registrant → service  { t: "register", id, name, over? }       (over: "connection" asks for the forwarded
 *                                                                  traffic beside the channel, on its TCP connection)
 *   service → registrant  { t: "challenge", id }                   (over "connection" granted once proven: the service
 *                                                                  sent { t: "prove", id, nonce } on the bare connection)
 *   registrant → service  { t: "register", id, name, over, proof } (proof: that nonce, back through the channel)
 *   service → registrant  { t: "registered", id, name, address, over }   (address: "forward_to_<name>"; over: the
 *                                                                  way the forwarder takes, "channel" or "connection")
 *                         { t: "refused", id, code, message }
 *   registrant → service  { t: "ping", id }
 *   service → registrant  { t: "pong", id, registered, replaced }  (registered: this route holds the name;
 *                                                                  replaced: another registrant holds it now)
 */
export type RelayRequest = { t: "register"; id: string; name: string; over?: ForwardOver; proof?: string } | { t: "ping"; id: string; name: string };

/**
 * What the service sends on the bare connection to the registrant's node when a registrant asks
 * for forwardOver "connection": the registrant sends `nonce` back inside its channel as `proof`.
 */
export interface ConnectionChallenge {
  t: "prove";
  id: string;
  nonce: string;
}

/** A challenge's nonce: 16 random bytes, in hex. */
export const CHALLENGE_NONCE_PATTERN = /^[0-9a-f]{32}$/;

/** Reads a challenge that came on the bare connection: anything else is `undefined`. */
export function parseChallenge(body: unknown): ConnectionChallenge | undefined {
  if (body === null || typeof body !== "object") return undefined;
  const b = body as Record<string, unknown>;
  if (b.t !== "prove" || typeof b.id !== "string" || b.id.length > 64 || typeof b.nonce !== "string" || !CHALLENGE_NONCE_PATTERN.test(b.nonce)) return undefined;
  return { t: "prove", id: b.id, nonce: b.nonce };
}

/**
 * The way a forwarder passes what reaches `forward_to_<name>` on to the registrant: inside the
 * registrant's secure channel to the relay node (`"channel"`, the default), or beside it, on the
 * TCP connection that channel rides on (`"connection"`: see packages/relay/README.md, "Forwarding
 * over the connection").
 */
export type ForwardOver = "channel" | "connection";

/** A reply of the relay service (see {@link RelayRequest}). */
export type RelayReply =
  | { t: "registered"; id: string; name: string; address: string; over: ForwardOver }
  | { t: "refused"; id: string; code: RefusalCode; message: string }
  | { t: "challenge"; id: string }
  | { t: "pong"; id: string; registered: boolean; replaced: boolean };

/**
 * A request's body at most (`{ t, id, name }`: an id and a name of at most 64 characters each),
 * and a reply's (a refusal's message included). A larger body is none of them, and is dropped
 * undecoded: msgpack lets a few MB decode into ~60 times that (an array of empty maps), on the
 * node's main thread (an adversarial trial, session 54: 2.5-3 s and ~1 GB for each 15 MB body).
 */
export const MAX_REQUEST_BYTES = 1024;
export const MAX_REPLY_BYTES = 4096;

/** The relay service's default address (Ockam's name for it). */
export const DEFAULT_RELAY_SERVICE_ADDRESS = "forwarding_service";

/** The prefix of every forwarder's address: `forward_to_<name>` (the runtime's constant). */
export { FORWARDER_PREFIX };

/** What a relay name may be: 1 to 64 letters, digits, `_`, `-` or `.`. */
export const RELAY_NAME_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;

/** Whether `name` may name a relay. */
export function isRelayName(name: unknown): name is string {
  return typeof name === "string" && RELAY_NAME_PATTERN.test(name);
}

/** The forwarder address a name gets on the relay node. */
export function forwarderAddress(name: string): string {
  return FORWARDER_PREFIX + name;
}

/** Reads a request body defensively: anything else from the network is `undefined`. */
export function parseRequest(body: unknown): RelayRequest | undefined {
  if (body === null || typeof body !== "object") return undefined;
  const b = body as Record<string, unknown>;
  if (typeof b.id !== "string" || b.id.length > 64 || typeof b.name !== "string") return undefined;
  if (b.t === "register") {
    const over = b.over === "connection" ? { over: "connection" as const } : {};
    const proof = over.over !== undefined && typeof b.proof === "string" && b.proof.length <= 64 ? { proof: b.proof } : {};
    return { t: "register", id: b.id, name: b.name, ...over, ...proof };
  }
  if (b.t === "ping") return { t: "ping", id: b.id, name: b.name };
  return undefined;
}

/** Reads a reply body defensively: anything else is `undefined`. */
export function parseReply(body: unknown): RelayReply | undefined {
  if (body === null || typeof body !== "object") return undefined;
  const b = body as Record<string, unknown>;
  if (typeof b.id !== "string") return undefined;
  // Text from the relay node ends up in errors and logs: a forwarder address must look like one,
  // and a refusal's message is cut short and kept to one printable line.
  if (b.t === "registered" && isRelayName(b.name) && b.address === forwarderAddress(b.name)) {
    // A service from before "over" forwards inside the channel.
    return { t: "registered", id: b.id, name: b.name, address: b.address, over: b.over === "connection" ? "connection" : "channel" };
  }
  if (b.t === "refused" && typeof b.code === "string" && typeof b.message === "string") {
    return { t: "refused", id: b.id, code: b.code as RefusalCode, message: printable(b.message) };
  }
  if (b.t === "challenge") return { t: "challenge", id: b.id };
  if (b.t === "pong") return { t: "pong", id: b.id, registered: b.registered === true, replaced: b.replaced === true };
  return undefined;
}

/** At most 200 characters of `text`, control characters replaced by spaces. */
function printable(text: string): string {
  return text.slice(0, 200).replace(/[\u0000-\u001f\u007f]/g, " ");
}
