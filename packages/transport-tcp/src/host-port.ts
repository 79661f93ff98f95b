import { InvalidAddressError } from "@hopwire/runtime";

export interface HostPort {
  host: string;
  port: number;
}

/**
 * Parses "host:port", "[v6]:port" or "1#host:port" (a TCP address as written in routes).
 * `allowPortZero` is for listening (the system picks a port).
 */
export function parseHostPort(text: unknown, what: string, allowPortZero: boolean): HostPort {
  if (typeof text !== "string") throw new InvalidAddressError(`${what} must be a "host:port" string, got ${typeof text}`);
  let value = text.trim();
  if (value.startsWith("1#")) value = value.slice(2);
  else if (/^\d+#/.test(value)) throw new InvalidAddressError(`${what} "${text}" is not a TCP address (type 1)`);
  let host: string;
  let portText: string;
  if (value.startsWith("[")) {
    const close = value.indexOf("]");
    if (close < 0 || value[close + 1] !== ":") throw new InvalidAddressError(`${what} "${text}" is not "[ipv6]:port"`);
    host = value.slice(1, close);
    portText = value.slice(close + 2);
  } else {
    const colon = value.lastIndexOf(":");
    if (colon < 0) {
      // "5432" is a port without its host, "localhost" a host without its port.
      throw new InvalidAddressError(
        /^\d+$/.test(value)
          ? `${what} "${text}" has no host: write "host:port", e.g. "127.0.0.1:${value}"`
          : `${what} "${text}" has no port: write "host:port", e.g. "${value}:4000"`,
      );
    }
    host = value.slice(0, colon);
    portText = value.slice(colon + 1);
    if (host.includes(":")) throw new InvalidAddressError(`${what} "${text}": write IPv6 hosts in brackets, "[::1]:4000"`);
  }
  if (host.length === 0) throw new InvalidAddressError(`${what} "${text}" has no host`);
  if (!/^\d{1,5}$/.test(portText)) throw new InvalidAddressError(`${what} "${text}" has an invalid port`);
  const port = Number(portText);
  if (port > 65535 || (port === 0 && !allowPortZero)) throw new InvalidAddressError(`${what} "${text}" has an invalid port ${port}`);
  return { host, port };
}

export function formatHostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}
