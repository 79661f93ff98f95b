import { describeValue, InvalidOptionError } from "@hopwire/runtime";

/**
 * Channels (open or handshaking) a listener holds at once by default (`withMaxChannels`).
 * An idle channel holds ≈ 6-12 KiB at its responder (docs/secure-channels.md, "What an idle
 * channel holds"; up to ≈ 26 KiB while the handshakes' leftovers still grow), so a full
 * listener holds ≈ 100-420 MiB: well below a GiB, and far above what an honest node opens.
 */
export const DEFAULT_MAX_CHANNELS = 16_384;

/**
 * Channels (open or handshaking) a listener holds at once by default that came in over one
 * first hop, the connection (`withMaxChannelsPerConnection`): as many as that connection may
 * have handshakes in flight (`handshakeLimits.maxPendingPerConnection`), so a client that
 * opens 1 000 channels at once over one connection gets them all, and one peer cannot take
 * more than a sixteenth of the listener's channels.
 */
export const DEFAULT_MAX_CHANNELS_PER_CONNECTION = 1_024;

/** A channel limit: an integer of at least 1 (InvalidOptionError naming `option` otherwise). */
export function checkChannelLimit(n: unknown, option: "maxChannels" | "maxChannelsPerConnection"): number {
  if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 1) {
    throw new InvalidOptionError(`${option} must be an integer of at least 1; got ${describeValue(n)}`, { option });
  }
  return n;
}
