import type { LocalInfo, Routed } from "@hopwire/runtime";
import type { Identifier } from "../identity/identifier.js";

/** The local-info key under which a channel's decryptor records who sent a message. */
export const SECURE_CHANNEL_IDENTIFIER = "hopwire.secureChannel.identifier";

/** The authenticated identifier of the peer that sent `message` through a secure channel, if it did. */
export function peerIdentifierOf(message: Routed | { localInfo: LocalInfo }): Identifier | undefined {
  const value = message.localInfo[SECURE_CHANNEL_IDENTIFIER];
  return typeof value === "string" ? (value as Identifier) : undefined;
}
