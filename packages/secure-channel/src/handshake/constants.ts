/** The one Noise suite secure channels speak (design brief: "exactly as Noise rev. 34"). */
export const HANDSHAKE_PROTOCOL_NAME = "Noise_XX_25519_AESGCM_SHA256";

/**
 * Noise prologue: binds the handshake to this protocol and version, so a peer speaking
 * another version fails at the first decrypt instead of misreading payloads. Version 2
 * added per-channel credit (the CREDIT record): a version-1 peer would never grant any,
 * so the two must not agree on a channel that would then stall. Version 3 added heartbeats
 * (the HEARTBEAT record): a version-2 peer sends none, so it would be declared gone after
 * the peer timeout; better to fail the handshake at once. Version 4 sends an opening end's
 * CONFIRM, CREDIT and HEARTBEAT as one CONTROLS record, which a version-3 peer would drop
 * (and then never get credit). Version 5 writes a MESSAGES envelope whose head repeats the one
 * before it as its payload alone (REPEATED_HEAD), which a version-4 peer would cut short.
 */
export const HANDSHAKE_PROLOGUE: Uint8Array = new TextEncoder().encode("hopwire/5");

/** Prefix of the data an identity signs, so the signature cannot be replayed elsewhere. */
export const IDENTITY_SIGNATURE_DOMAIN = "hopwire-secure-channel-v1";
