import { InvalidOptionError } from "@hopwire/runtime";

/** A TCP endpoint as the portals use it. */
export interface HostPort {
  host: string;
  port: number;
}

/**
 * Parses "host:port" or "[v6]:port". `allowPortZero` is for listening (the system picks).
 * Throws InvalidOptionError naming `what`.
 */
export function parseHostPort(text: unknown, what: string, allowPortZero: boolean): HostPort {
  if (typeof text !== "string") throw new InvalidOptionError(`${what} must be a "host:port" string, got ${typeof text}`, { option: optionOf(what) });
  const value = text.trim();
  let host: string;
  let portText: string;
  if (value.startsWith("[")) {
    const close = value.indexOf("]");
    if (close < 0 || value[close + 1] !== ":") throw new InvalidOptionError(`${what} "${text}" is not "[ipv6]:port"`, { option: optionOf(what) });
    host = value.slice(1, close);
    portText = value.slice(close + 2);
  } else {
    const colon = value.lastIndexOf(":");
    if (colon < 0) {
      // "5432" is a port without its host, "localhost" a host without its port.
      throw new InvalidOptionError(
        /^\d+$/.test(value)
          ? `${what} "${text}" has no host: write "host:port", e.g. "127.0.0.1:${value}"`
          : `${what} "${text}" has no port: write "host:port", e.g. "${value}:4000"`,
        { option: optionOf(what) },
      );
    }
    host = value.slice(0, colon);
    portText = value.slice(colon + 1);
    if (host.includes(":")) throw new InvalidOptionError(`${what} "${text}": write IPv6 hosts in brackets, "[::1]:4000"`, { option: optionOf(what) });
  }
  if (host.length === 0) throw new InvalidOptionError(`${what} "${text}" has no host`, { option: optionOf(what) });
  if (!/^\d{1,5}$/.test(portText)) throw new InvalidOptionError(`${what} "${text}" has an invalid port`, { option: optionOf(what) });
  const port = Number(portText);
  if (port > 65535 || (port === 0 && !allowPortZero)) throw new InvalidOptionError(`${what} "${text}" has an invalid port ${port}`, { option: optionOf(what) });
  return { host: host.toLowerCase(), port };
}

/** The option a `what` names, for InvalidOptionError.option: "allow[2]" is an entry of `allow`. */
function optionOf(what: string): string {
  return what.replace(/\[\d+\]$/, "");
}

/** "host:port", with IPv6 hosts in brackets: the form allow-lists compare. */
export function formatHostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}
