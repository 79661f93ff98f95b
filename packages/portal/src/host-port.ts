import { InvalidOptionError, parseHostPort as parse, type HostPort } from "@hopwire/runtime";

/**
 * The runtime's parseHostPort for portal options: InvalidOptionError naming `what` (its
 * `option` is `allow` for "allow[2]"), and the host in lower case, as allow-lists compare
 * them. `allowPortZero` is for listening (the system picks).
 */
export function parseHostPort(text: unknown, what: string, allowPortZero: boolean): HostPort {
  const { host, port } = parse(text, what, { allowPortZero, fail: (message) => new InvalidOptionError(message, { option: what.replace(/\[\d+\]$/, "") }) });
  return { host: host.toLowerCase(), port };
}
