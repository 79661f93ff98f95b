import { InvalidAddressError, parseHostPort as parse, type HostPort } from "@hopwire/runtime";

export { formatHostPort } from "@hopwire/runtime";

/**
 * Parses "host:port", "[v6]:port" or "1#host:port" (a TCP address as written in routes);
 * InvalidAddressError names `what`. `allowPortZero` is for listening (the system picks a port).
 */
export function parseHostPort(text: unknown, what: string, allowPortZero: boolean): HostPort {
  return parse(text, what, { allowPortZero, tcpAddress: true, fail: (message) => new InvalidAddressError(message) });
}
