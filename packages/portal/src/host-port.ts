import { InvalidOptionError, parseHostPort as parse, type HostPort } from "@hopwire/runtime";

export { formatHostPort, type HostPort } from "@hopwire/runtime";

/**
 * Parses "host:port" or "[v6]:port", the host in lower case (allow-lists compare them).
 * `allowPortZero` is for listening (the system picks). Throws InvalidOptionError naming `what`.
 */
export function parseHostPort(text: unknown, what: string, allowPortZero: boolean): HostPort {
  const { host, port } = parse(text, what, { allowPortZero, fail: (message) => new InvalidOptionError(message, { option: optionOf(what) }) });
  return { host: host.toLowerCase(), port };
}

/** The option a `what` names, for InvalidOptionError.option: "allow[2]" is an entry of `allow`. */
function optionOf(what: string): string {
  return what.replace(/\[\d+\]$/, "");
}
