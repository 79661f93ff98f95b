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
  if (typeof text !== "string") throw new InvalidOptionError(`${what} must be a "host:port" string, got ${typeof text}`);
  const value = text.trim();
  let host: string;
  let portText: string;
  if (value.startsWith("[")) {
    const close = value.indexOf("]");
    if (close < 0 || value[close + 1] !== ":") throw new InvalidOptionError(`${what} "${text}" is not "[ipv6]:port"`);
    host = value.slice(1, close);
    portText = value.slice(close + 2);
  } else {
    const colon = value.lastIndexOf(":");
    if (colon < 0) throw new InvalidOptionError(`${what} "${text}" has no port ("host:port")`);
    host = value.slice(0, colon);
    portText = value.slice(colon + 1);
    if (host.includes(":")) throw new InvalidOptionError(`${what} "${text}": write IPv6 hosts in brackets, "[::1]:4000"`);
  }
  if (host.length === 0) throw new InvalidOptionError(`${what} "${text}" has no host`);
  if (!/^\d{1,5}$/.test(portText)) throw new InvalidOptionError(`${what} "${text}" has an invalid port`);
  const port = Number(portText);
  if (port > 65535 || (port === 0 && !allowPortZero)) throw new InvalidOptionError(`${what} "${text}" has an invalid port ${port}`);
  return { host: host.toLowerCase(), port };
}

/** "host:port", with IPv6 hosts in brackets: the form allow-lists compare. */
export function formatHostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}
