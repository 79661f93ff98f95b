/**
 * The host a remote address counts toward, for `maxConnectionsPerHost` and for the share of
 * `maxPartialFrameBytes` (connection.ts): an IPv4 address
 * (also written IPv4-mapped, "::ffff:a.b.c.d"), or an IPv6 address's /64 prefix, since one
 * site (and one attacker) holds a whole /64. Anything else counts as itself.
 */
export function hostKeyOf(ip: string): string {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(ip);
  if (mapped) return mapped[1]!;
  if (!ip.includes(":")) return ip;
  const [head = "", tail] = ip.split("%")[0]!.toLowerCase().split("::");
  const groupsOf = (part: string | undefined): string[] => (part ? part.split(":") : []);
  const first = groupsOf(head);
  const last = groupsOf(tail);
  // A dotted quad at the end stands for two groups.
  const lastCount = last.reduce((n, g) => n + (g.includes(".") ? 2 : 1), 0);
  const groups = tail === undefined ? first : [...first, ...Array<string>(Math.max(0, 8 - first.length - lastCount)).fill("0"), ...last];
  const prefix = groups.slice(0, 4).map((g) => (/^[0-9a-f]{1,4}$/.test(g) ? parseInt(g, 16).toString(16) : g));
  return `${prefix.join(":")}::/64`;
}
