import { homedir } from "node:os";
import { dirname, extname, isAbsolute, join, resolve } from "node:path";
import { DEFAULT_MAX_STREAMS } from "@hopwire/portal";
import { FORWARDER_PREFIX } from "@hopwire/relay";
import { formatHostPort, hostPortProblem, parseHostPort, readSmallFile } from "@hopwire/runtime";
import { ZodArray, ZodDefault, ZodEffects, ZodObject, ZodOptional, ZodRecord, ZodUnion, type ZodIssue, type ZodTypeAny } from "zod";
import { ConfigError, formatPath } from "../errors.js";
import { nodeConfigSchema, type NodeConfig } from "./schema.js";

/**
 * The YAML parser, loaded when a YAML file is read: ~70 modules, ~0.1 s of CPU that every
 * other command (identities, the one-liners, JSON files) would pay at start.
 */
async function parseYaml(): Promise<typeof import("yaml").parse> {
  return (await import("yaml")).parse;
}

/**
 * Reads and validates a node configuration file: `.json` as JSON, anything else as YAML
 * (a superset of JSON). Every problem is a ConfigError whose one-line message names the
 * file, the key path and what was expected.
 */
export async function loadConfigFile(file: string): Promise<NodeConfig> {
  let text: string;
  try {
    text = await readConfigText(file);
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(`${file}: cannot read the file (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  let raw: unknown;
  try {
    raw = extname(file).toLowerCase() === ".json" ? JSON.parse(text) : (await parseYaml())(text, { uniqueKeys: true });
  } catch (error) {
    const json = extname(file).toLowerCase() === ".json";
    const message = (error as Error).message;
    // The YAML parser's first line ends "at line 2, column 3:", its excerpt of the file following.
    // JSON's excerpt goes before the first line is taken: it may span a line break, and its
    // first line alone (`..."cretKey": deadbeef`) no longer reads as an excerpt.
    const problem = json ? firstLine(withoutJsonExcerpt(message)) : firstLine(message).replace(/:$/, "");
    throw new ConfigError(`${file}: not valid ${json ? "JSON" : "YAML"}: ${problem}`);
  }
  return identityFileBesideConfig(parseConfig(raw ?? {}, file), file);
}

/**
 * A relative `identity.file` names a file beside the configuration, not in the working
 * directory: under a supervisor that is anyone's guess (systemd's is /), so `file: bob.json`
 * next to /etc/hopwire/bob.yaml failed with ENOENT depending on where the node was started.
 * The absolute path is also what an error about the file then names.
 */
function identityFileBesideConfig(config: NodeConfig, file: string): NodeConfig {
  const ref = config.identity;
  if (ref === undefined || typeof ref === "string") return config;
  const path = withHome(ref.file);
  const absolute = isAbsolute(path) ? path : resolve(dirname(file), path);
  return absolute === ref.file ? config : { ...config, identity: { file: absolute } };
}

/** "~" or "~/..." as the shell reads it (it became "<configdir>/~/..."); "~user" is left alone. */
function withHome(path: string): string {
  return path === "~" || path.startsWith("~/") ? join(homedir(), path.slice(1)) : path;
}

/** The most a configuration file may hold: more is no configuration (a log, a disk image). */
export const MAX_CONFIG_FILE_BYTES = 4 * 1024 * 1024;

/**
 * The file's text, from a regular file of at most MAX_CONFIG_FILE_BYTES: a device
 * (/dev/urandom) or a huge file was read whole into memory, ~1 GB, before failing.
 */
async function readConfigText(file: string): Promise<string> {
  const bytes = await readSmallFile(file, MAX_CONFIG_FILE_BYTES);
  if (!("problem" in bytes)) return bytes.toString("utf8");
  throw new ConfigError(
    bytes.problem === "not-regular"
      ? `${file}: cannot read the file: not a regular file (a FIFO or a device)`
      : `${file}: cannot read the file: larger than ${MAX_CONFIG_FILE_BYTES / 1024 / 1024} MiB, more than any configuration`,
  );
}

/** Validates an already parsed configuration; `source` names it in errors (a file, or "command line"). */
export function parseConfig(raw: unknown, source: string): NodeConfig {
  checkPlainData(raw, source, []);
  const result = nodeConfigSchema.safeParse(raw);
  if (!result.success) {
    // One line: an unknown key first, wherever zod listed it. A misspelt key is usually also
    // a missing one ("adress" for "address"), and only the unknown key names the typo.
    const issues = result.error.issues;
    throw describeIssue(source, issues.find((i) => i.code === "unrecognized_keys") ?? issues[0]!);
  }
  checkReferences(result.data, source);
  return result.data;
}

/** Checks what the schema cannot: names that refer to other parts of the file. */
function checkReferences(config: NodeConfig, source: string): void {
  const connections = config.connections ?? {};
  const peer = (value: string, path: (string | number)[]): void => {
    if (Object.hasOwn(connections, value)) return;
    if (!value.includes(":")) throw ConfigError.at(source, path, `expected a name from "connections" or "host:port", got ${JSON.stringify(value)}`);
    const problem = hostPortProblem(value, { allowPortZero: false });
    if (problem !== undefined) throw ConfigError.at(source, path, problem);
  };
  config.relays?.forEach((r, i) => peer(r.at, ["relays", i, "at"]));
  config.inlets?.forEach((inlet, i) => peer(inlet.via, ["inlets", i, "via"]));
  checkAddressesUnique(config, source);
  checkListenersUnique(config, source);
  checkRelaysUnique(config, source);
  config.outlets?.forEach((o, i) => {
    // The outlet would refuse it at start (exit 1, no key named): a share larger than the whole.
    const total = o.maxStreams ?? DEFAULT_MAX_STREAMS;
    if (o.maxStreamsPerChannel !== undefined && o.maxStreamsPerChannel > total) {
      throw ConfigError.at(source, ["outlets", i, "maxStreamsPerChannel"], `expected at most maxStreams (${total}${o.maxStreams === undefined ? ", its default" : ""}), got ${o.maxStreamsPerChannel}`);
    }
  });
  if ((config.outlets?.length ?? 0) > 0 && (config.secureChannelListeners?.length ?? 0) === 0) {
    throw ConfigError.at(source, ["secureChannelListeners"], "missing: an outlet is reachable only through a secure channel listener, expected at least one");
  }
  if (config.relayService && (config.secureChannelListeners?.length ?? 0) === 0) {
    throw ConfigError.at(source, ["secureChannelListeners"], "missing: relay registrations arrive over a secure channel listener, expected at least one");
  }
  // What the network reaches: the TCP listeners, and the relay nodes this node registers at.
  // A secure channel listener (and so an outlet, a relay service's registrations) is
  // reachable through those only; a relay service's forwarders through the TCP listeners.
  const listeners = config.tcpListeners?.length ?? 0;
  if ((config.outlets?.length ?? 0) > 0 && listeners === 0 && (config.relays?.length ?? 0) === 0) {
    throw ConfigError.at(
      source,
      ["outlets"],
      "unreachable: expected tcpListeners (inlets connect to this node) or relays (this node registers at a relay node), or both",
    );
  }
  if (config.relayService && listeners === 0) {
    throw ConfigError.at(source, ["tcpListeners"], "missing: a relay service's forwarders are reached through this node's TCP listeners, expected at least one");
  }
}

/** The node's inbox: a worker of the configuration cannot have its address. */
const INBOX_ADDRESS = "app";

/**
 * Every worker the configuration starts needs an address of its own on the node: two that
 * share one (two outlets left at the default "outlet", a listener and an outlet both called
 * "api") are an error here, naming both keys, rather than a node that half starts and fails.
 */
function checkAddressesUnique(config: NodeConfig, source: string): void {
  const taken = new Map<string, string>();
  const claim = (address: string, path: (string | number)[]): void => {
    const problem =
      address === INBOX_ADDRESS
        ? `"${address}" is the node's own inbox`
        : taken.has(address)
          ? `the address "${address}" is already taken by ${taken.get(address)}`
          : config.relayService && address.startsWith(FORWARDER_PREFIX)
            ? `"${address}" is where the relay service starts the forwarder of a relay named "${address.slice(FORWARDER_PREFIX.length)}"`
            : undefined;
    if (problem !== undefined) throw ConfigError.at(source, path, `${problem}: every worker of a node needs an address of its own`);
    taken.set(address, formatPath(path));
  };
  config.secureChannelListeners?.forEach((l, i) => claim(l.address, ["secureChannelListeners", i, "address"]));
  if (config.relayService) claim(config.relayService.address, ["relayService", "address"]);
  config.outlets?.forEach((o, i) => claim(o.address, ["outlets", i, "address"]));
}

/**
 * Whether listeners on hosts `a` and `b` (one port) take the same address: the same host; "::"
 * (every interface, IPv6 and IPv4 alike: Linux binds it dual-stack) with any host; "0.0.0.0"
 * with any IPv4 address. "0.0.0.0" and an IPv6 address ("::1") bind side by side; a name
 * ("localhost") is left to the system.
 */
function sameAddress(a: string, b: string): boolean {
  const ipv4 = (host: string): boolean => /^\d+\.\d+\.\d+\.\d+$/.test(host);
  const anyV6 = (host: string): boolean => host === "::" || host === "[::]";
  a = hostKey(a);
  b = hostKey(b);
  if (a === b || anyV6(a) || anyV6(b)) return true;
  return (a === "0.0.0.0" && ipv4(b)) || (b === "0.0.0.0" && ipv4(a));
}

/**
 * Two TCP listeners on one address (see sameAddress) cannot both listen: the node started,
 * then failed with EADDRINUSE (exit 1) naming neither the file nor the key. Port 0 asks for a
 * free port each time, so it may repeat.
 */
function checkListenersUnique(config: NodeConfig, source: string): void {
  const seen: { host: string; port: number; path: string }[] = [];
  config.tcpListeners?.forEach((l, i) => {
    const path = ["tcpListeners", i, "address"];
    const { host, port } = parseHostPort(l.address, "address", { allowPortZero: true, fail: (message) => ConfigError.at(source, path, message) });
    if (port === 0) return;
    const clash = seen.find((other) => other.port === port && sameAddress(other.host, host));
    if (clash) throw ConfigError.at(source, path, `port ${port} is already taken by ${clash.path} (${clash.host}:${port}): two listeners cannot share a port`);
    seen.push({ host, port, path: formatPath(path) });
  });
}

/**
 * The same name registered twice at the same relay node's service (through a connection name
 * or its "host:port", alike): both registrations ran, the second replacing the first, and both
 * logged "registered". The same name at two relay nodes is redundancy, and allowed.
 */
function checkRelaysUnique(config: NodeConfig, source: string): void {
  const seen = new Map<string, string>();
  config.relays?.forEach((r, i) => {
    const key = JSON.stringify([r.name, relayNodeKey(resolvePeer(config, r.at)), r.service]);
    const path = ["relays", i, "name"];
    const earlier = seen.get(key);
    if (earlier !== undefined) throw ConfigError.at(source, path, `"${r.name}" is already registered at ${r.at} by ${earlier}: a name is registered once per relay node`);
    seen.set(key, formatPath(path));
  });
}

/**
 * One relay node's "host:port" however it is written: the host in lower case (names and IPv6
 * hex digits are case-insensitive), IPv6 in brackets, no spaces around it. "LOCALHOST:4000" and
 * "localhost:4000" were two relay nodes, so one name registered at both passed the check and
 * the two registrations replaced each other.
 */
function relayNodeKey(peer: string): string {
  if (hostPortProblem(peer, { allowPortZero: false }) !== undefined) return peer;
  const { host, port } = parseHostPort(peer, "at", { allowPortZero: false, fail: (message) => new Error(message) });
  return formatHostPort(hostKey(host), port);
}

/**
 * A host as two are compared: names and IPv6 hex digits in lower case ("LOCALHOST" is
 * "localhost"), an IPv6 zone as written ("%eth0" names an interface, and Linux's interface
 * names are case-sensitive: "%ETH0" is another one).
 */
function hostKey(host: string): string {
  const zone = host.indexOf("%");
  return zone < 0 ? host.toLowerCase() : host.slice(0, zone).toLowerCase() + host.slice(zone);
}

/** How deep a configuration may nest: more is no configuration (and would recurse without end). */
const MAX_CONFIG_DEPTH = 64;

/**
 * A configuration holds text, numbers, true/false, lists and maps. YAML's tags make other
 * values (!!binary a Buffer, !!timestamp a Date, !!set a Set, !!omap a Map), which the schema
 * then described by their insides: an identity given as !!binary was "unknown key (and 1, 2,
 * 3, …, readBigUInt64LE, …)". Here they are named for what they are, at their key.
 */
function checkPlainData(value: unknown, source: string, path: (string | number)[]): void {
  if (value === null || typeof value !== "object") return;
  if (path.length > MAX_CONFIG_DEPTH) throw ConfigError.at(source, path, `nested more than ${MAX_CONFIG_DEPTH} levels deep`);
  if (Array.isArray(value)) {
    value.forEach((item, i) => checkPlainData(item, source, [...path, i]));
    return;
  }
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) {
    throw ConfigError.at(source, path, `expected text, a number, true/false, a list or a map, got ${taggedValueName(value)}`);
  }
  for (const [key, item] of Object.entries(value)) checkPlainData(item, source, [...path, key]);
}

function taggedValueName(value: object): string {
  if (value instanceof Uint8Array) return "binary data (a YAML !!binary value)";
  if (value instanceof Date) return "a timestamp (a YAML !!timestamp value)";
  if (value instanceof Set) return "a set (a YAML !!set value)";
  if (value instanceof Map) return "an ordered map (a YAML !!omap or !!pairs value)";
  return `a ${value.constructor?.name ?? "value"} object`;
}

/** A peer ("host:port" or a connection name) as "host:port". */
export function resolvePeer(config: NodeConfig, value: string): string {
  const connections = config.connections ?? {};
  return Object.hasOwn(connections, value) ? connections[value]! : value;
}

function describeIssue(source: string, issue: ZodIssue): ConfigError {
  switch (issue.code) {
    case "invalid_type": {
      if (issue.received === "undefined") return ConfigError.at(source, issue.path, `missing key, expected ${expectation(issue)}`);
      return ConfigError.at(source, issue.path, `expected ${expectation(issue)}, got ${issue.received}`);
    }
    case "unrecognized_keys": {
      const others = issue.keys.length > 1 ? ` (and ${issue.keys.slice(1).join(", ")})` : "";
      const known = keysAt(nodeConfigSchema, issue.path);
      const expected = known.length > 0 ? `, expected one of: ${known.join(", ")}` : "";
      return ConfigError.at(source, [...issue.path, issue.keys[0]!], `unknown key${others}${expected}`);
    }
    default:
      return ConfigError.at(source, issue.path, issue.message);
  }
}

/** What an invalid_type issue expected, in words: the schema's own message when it has one. */
function expectation(issue: Extract<ZodIssue, { code: "invalid_type" }>): string {
  const custom = issue.message !== "Required" && !issue.message.startsWith("Expected ") ? issue.message.replace(/^expected /, "") : undefined;
  return custom ?? (issue.expected === "array" ? "a list" : issue.expected === "object" ? "a map of keys" : issue.expected);
}

/** An object or a record: what has keys. */
function isMap(schema: ZodTypeAny): boolean {
  return schema instanceof ZodObject || schema instanceof ZodRecord;
}

/** `schema` without the refinements and transforms around it. */
function withoutEffects(schema: ZodTypeAny): ZodTypeAny {
  return schema instanceof ZodEffects ? withoutEffects(schema.innerType() as ZodTypeAny) : schema;
}

/** The keys the schema allows for the object at `path` (for "unknown key" errors). */
function keysAt(schema: ZodTypeAny, path: readonly (string | number)[]): string[] {
  let current: ZodTypeAny | undefined = schema;
  for (const part of [...path, undefined]) {
    // Unwrap what wraps an object or array: optional, default, refinements, the object branch of a union.
    for (;;) {
      if (current instanceof ZodOptional || current instanceof ZodDefault) current = current._def.innerType as ZodTypeAny;
      else if (current instanceof ZodEffects) current = current.innerType() as ZodTypeAny;
      else if (current instanceof ZodUnion) current = (current.options as ZodTypeAny[]).find((o) => isMap(withoutEffects(o)));
      else break;
    }
    if (part === undefined) break;
    if (current instanceof ZodObject) current = (current.shape as Record<string, ZodTypeAny>)[String(part)];
    else if (current instanceof ZodArray) current = current.element as ZodTypeAny;
    else if (current instanceof ZodRecord) current = current.valueSchema as ZodTypeAny;
    else return [];
  }
  return current instanceof ZodObject ? Object.keys(current.shape as object) : [];
}

/**
 * JSON.parse's message without the excerpt of the text that V8 quotes in it
 * (`Unexpected token 'd', ..."cretKey": deadbeef00"... is not valid JSON`): the excerpt is
 * whatever stands around the mistake, a secret pasted into the file as well as anything.
 */
function withoutJsonExcerpt(message: string): string {
  const quoted = /^(?:(.*?), )?(?:\.\.\.)?".*"(?:\.\.\.)? is not valid JSON$/s.exec(message);
  if (quoted === null) return message;
  return quoted[1] ?? "the text is no JSON value";
}

function firstLine(text: string): string {
  return text.split("\n")[0]!.trim();
}
