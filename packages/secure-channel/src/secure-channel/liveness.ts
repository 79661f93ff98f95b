/**
 * Channel liveness, as WireGuard's keepalive and its "reject after" timers: each end seals a
 * HEARTBEAT record whenever it has sealed nothing for a while, and declares its peer gone when
 * nothing authenticated came from it for the peer timeout. Heartbeats are sealed records, so a
 * relay or anyone on the path can drop them (and get the channel closed, as dropping any
 * traffic would) but never fake them to keep a dead end alive.
 *
 * The HEARTBEAT body is a u32 big-endian: the sender's own peer timeout in ms. Each end sends
 * one as it opens; the receiver then sends its heartbeats at most a third of that apart, so
 * the side that wants fast detection sets it alone and the other adapts (at most its own
 * keepalive interval, at least MIN_KEEPALIVE_INTERVAL apart).
 */

/** How long an end waits for any authenticated record from its peer before it closes as peer-gone (ms). */
export const DEFAULT_PEER_TIMEOUT = 30_000;
/** How long an end may seal nothing before it sends a HEARTBEAT (ms); a third of the default peer timeout. */
export const DEFAULT_KEEPALIVE_INTERVAL = 10_000;
/** The shortest interval between heartbeats whatever the peer asks for (ms). */
export const MIN_KEEPALIVE_INTERVAL = 50;
/** The shortest peer timeout an option accepts (ms). */
export const MIN_PEER_TIMEOUT = 150;

export const HEARTBEAT_BODY_LENGTH = 4;
const MAX_U32 = 0xffff_ffff;

/** The HEARTBEAT body announcing this end's peer timeout (Infinity, none, as 0xffffffff ms: about 50 days). */
export function encodeHeartbeat(peerTimeout: number): Uint8Array {
  const body = new Uint8Array(HEARTBEAT_BODY_LENGTH);
  new DataView(body.buffer).setUint32(0, Math.min(MAX_U32, Math.round(peerTimeout)));
  return body;
}

/** The peer timeout a HEARTBEAT announces, or undefined if the body is malformed. */
export function decodeHeartbeat(body: Uint8Array): number | undefined {
  if (body.length !== HEARTBEAT_BODY_LENGTH) return undefined;
  return new DataView(body.buffer, body.byteOffset, body.byteLength).getUint32(0);
}

/** How often to send heartbeats: at most `keepaliveInterval`, and a third of the peer's timeout. */
export function keepaliveEvery(keepaliveInterval: number, peerAnnouncedTimeout: number | undefined): number {
  const forPeer = peerAnnouncedTimeout === undefined ? keepaliveInterval : Math.floor(peerAnnouncedTimeout / 3);
  return Math.max(MIN_KEEPALIVE_INTERVAL, Math.min(keepaliveInterval, forPeer));
}
