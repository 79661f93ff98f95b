import { InvalidAddressError, parseHostPort as parse, type HostPort } from "@hopwire/runtime";

/**
 * The runtime's parseHostPort for this transport: it also takes "1#host:port" (a TCP
 * address as written in routes) and throws InvalidAddressError naming `what`.
 * `allowPortZero` is for listening (the system picks a port).
 */
export function parseHostPort(text: unknown, what: string, allowPortZero: boolean): HostPort {
  return parse(text, what, { allowPortZero, tcpAddress: true, fail: (message) => new InvalidAddressError(message) });
}
