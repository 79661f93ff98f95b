/** A TCP endpoint: its host (an IPv6 host without brackets) and port. */
export interface HostPort {
  host: string;
  port: number;
}

/** Which "host:port" values {@link parseHostPort} and {@link hostPortProblem} take. */
export interface HostPortRules {
  /** Port 0 is allowed (for listening: the system picks a port). */
  readonly allowPortZero: boolean;
  /** Also takes a TCP address as written in routes ("1#host:port"), and refuses other address types. */
  readonly tcpAddress?: boolean;
}

/** How parseHostPort reads and fails. */
export interface ParseHostPortOptions extends HostPortRules {
  /** Makes the error thrown for a malformed value from its message (each package throws its own kind). */
  readonly fail: (message: string) => Error;
}

/** A URL's scheme and "//" ("tcp://", "http://"), which "host:port" has none of. */
const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//;
/** A host name or an IPv4 address. */
const NAME = /^[A-Za-z0-9_.-]+$/;
/** What a bracketed IPv6 address holds: hex digits, colons, dots (an embedded IPv4), and a zone ("%eth0"). */
const IPV6 = /^[0-9A-Fa-f:.]+(%[^\s%]+)?$/;

/**
 * Parses "host:port" or "[v6]:port" — the one parser of the TCP transport, the portals
 * and the CLI's configuration. The host is a name, an IPv4 address or a bracketed IPv6
 * one; the port 1 to 65535 (0 too with `allowPortZero`). A malformed value is
 * `fail(message)`, the message naming `what` and saying what is wrong (a lone "5432" has
 * no host, a lone "localhost" no port, "127.0.0.1:0" a port out of range).
 */
export function parseHostPort(text: unknown, what: string, options: ParseHostPortOptions): HostPort {
  const parsed = readHostPort(text, options);
  if (typeof parsed === "string") throw options.fail(`${what} ${parsed}`);
  return parsed;
}

/**
 * What is wrong with `text` as "host:port" under `rules`, or undefined if nothing: the
 * message {@link parseHostPort} throws without the name in front, e.g.
 * `"5432" has no host: write "host:port", e.g. "127.0.0.1:5432"`.
 */
export function hostPortProblem(text: unknown, rules: HostPortRules): string | undefined {
  const parsed = readHostPort(text, rules);
  return typeof parsed === "string" ? parsed : undefined;
}

/** The endpoint, or what is wrong with `text` (starting with the value it quotes). */
function readHostPort(text: unknown, rules: HostPortRules): HostPort | string {
  if (typeof text !== "string") return `must be a "host:port" string, got ${typeof text}`;
  const quoted = JSON.stringify(text);
  let value = text.trim();
  if (rules.tcpAddress) {
    if (value.startsWith("1#")) value = value.slice(2);
    else if (/^\d+#/.test(value)) return `${quoted} is not a TCP address (type 1)`;
  }
  // A URL ("tcp://127.0.0.1:4000") would otherwise read as an unbracketed IPv6 host.
  const scheme = SCHEME.exec(value)?.[0];
  if (scheme !== undefined) {
    const endpoint = value.slice(scheme.length).split(/[/?#]/, 1)[0]!;
    const drop = `${quoted}: drop the ${JSON.stringify(scheme)} scheme`;
    if (endpoint.length === 0) return `${drop} and write "host:port", e.g. "127.0.0.1:4000"`;
    const rest = readHostPort(endpoint, { allowPortZero: rules.allowPortZero });
    return typeof rest === "string" ? `${drop}; then ${rest}` : `${drop}: write ${JSON.stringify(formatHostPort(rest.host, rest.port))}`;
  }
  let host: string;
  let portText: string;
  let bracketed = false;
  if (value.startsWith("[")) {
    const close = value.indexOf("]");
    if (close < 0 || value[close + 1] !== ":") return `${quoted} is not "[ipv6]:port"`;
    host = value.slice(1, close);
    portText = value.slice(close + 2);
    bracketed = true;
  } else {
    const colon = value.lastIndexOf(":");
    if (colon < 0) {
      if (/^\d+$/.test(value)) return `${quoted} has no host: write "host:port", e.g. "127.0.0.1:${value}"`;
      // A lone name lacks its port; anything else is no host at all, and the example must not repeat it.
      return NAME.test(value) ? `${quoted} has no port: write "host:port", e.g. "${value}:4000"` : `${quoted} is not "host:port": write e.g. "127.0.0.1:4000"`;
    }
    host = value.slice(0, colon);
    portText = value.slice(colon + 1);
    if (host.includes(":")) return `${quoted}: write IPv6 hosts in brackets, "[::1]:4000"`;
  }
  if (host.length === 0) return `${quoted} has no host: write "host:port", e.g. "127.0.0.1:${/^\d{1,5}$/.test(portText) ? portText : "4000"}"`;
  if (!(bracketed ? IPV6 : NAME).test(host)) {
    return `${quoted} has an invalid host ${JSON.stringify(host)}: expected a name, an IPv4 address or a bracketed IPv6 one ("[::1]:4000")`;
  }
  if (portText.length === 0) return `${quoted} has no port: write "host:port", e.g. "${formatHostPort(host, 4000)}"`;
  const min = rules.allowPortZero ? 0 : 1;
  const port = /^\d{1,5}$/.test(portText) ? Number(portText) : Number.NaN;
  if (!(port >= min && port <= 65535)) return `${quoted} has an invalid port ${/^\d+$/.test(portText) ? portText : JSON.stringify(portText)}: expected a port from ${min} to 65535`;
  return { host, port };
}

/** "host:port", with an IPv6 host in brackets. */
export function formatHostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}
