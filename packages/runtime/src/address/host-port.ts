/** A TCP endpoint: its host (an IPv6 host without brackets) and port. */
export interface HostPort {
  host: string;
  port: number;
}

/** How parseHostPort reads and fails. */
export interface ParseHostPortOptions {
  /** Port 0 is allowed (for listening: the system picks a port). */
  readonly allowPortZero: boolean;
  /** Makes the error thrown for a malformed value from its message (each package throws its own kind). */
  readonly fail: (message: string) => Error;
  /** Also takes a TCP address as written in routes ("1#host:port"), and refuses other address types. */
  readonly tcpAddress?: boolean;
}

/**
 * Parses "host:port" or "[v6]:port" — the one parser of the TCP transport and the portals.
 * A malformed value is `fail(message)`, the message naming `what` and saying what is wrong
 * (a lone "5432" has no host, a lone "localhost" no port).
 */
export function parseHostPort(text: unknown, what: string, options: ParseHostPortOptions): HostPort {
  const { fail } = options;
  if (typeof text !== "string") throw fail(`${what} must be a "host:port" string, got ${typeof text}`);
  let value = text.trim();
  if (options.tcpAddress) {
    if (value.startsWith("1#")) value = value.slice(2);
    else if (/^\d+#/.test(value)) throw fail(`${what} "${text}" is not a TCP address (type 1)`);
  }
  let host: string;
  let portText: string;
  if (value.startsWith("[")) {
    const close = value.indexOf("]");
    if (close < 0 || value[close + 1] !== ":") throw fail(`${what} "${text}" is not "[ipv6]:port"`);
    host = value.slice(1, close);
    portText = value.slice(close + 2);
  } else {
    const colon = value.lastIndexOf(":");
    if (colon < 0) {
      throw fail(
        /^\d+$/.test(value)
          ? `${what} "${text}" has no host: write "host:port", e.g. "127.0.0.1:${value}"`
          : `${what} "${text}" has no port: write "host:port", e.g. "${value}:4000"`,
      );
    }
    host = value.slice(0, colon);
    portText = value.slice(colon + 1);
    if (host.includes(":")) throw fail(`${what} "${text}": write IPv6 hosts in brackets, "[::1]:4000"`);
  }
  if (host.length === 0) throw fail(`${what} "${text}" has no host`);
  if (!/^\d{1,5}$/.test(portText)) throw fail(`${what} "${text}" has an invalid port`);
  const port = Number(portText);
  if (port > 65535 || (port === 0 && !options.allowPortZero)) throw fail(`${what} "${text}" has an invalid port ${port}`);
  return { host, port };
}

/** "host:port", with an IPv6 host in brackets. */
export function formatHostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}
