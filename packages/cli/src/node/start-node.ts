import {
  clipForLog,
  node as createNode,
  warningsFromEnvironment,
  type DeniedWarning,
  type RefusedWarning,
  type DroppedWarning,
  type FlowControlId,
  type Node,
  type NodeOptions,
  type NodeWarning,
} from "@hopwire/runtime";
import {
  createIdentity,
  createSecureChannelListener,
  IdentityFileError,
  MAX_IDENTITY_FILE_BYTES,
  SecureChannelError,
  SecureChannelListenerOptions,
  trustEveryone,
  trustIdentifiers,
  type Identity,
  type TrustPolicy,
} from "@hopwire/secure-channel";
import { createTcpTransport, TcpListenerOptions, type TcpConnection } from "@hopwire/transport-tcp";
import { createOutlet, type Outlet } from "@hopwire/portal";
import { allowAnyIdentity, allowRegistrations, createRemoteRelay, forwarderAddress, startRelayService, tcpRelayConnector } from "@hopwire/relay";
import { resolvePeer } from "../config/load-config.js";
import { fileHint, type NodeConfig, type TrustConfig } from "../config/schema.js";
import { ConfigError } from "../errors.js";
import { loadIdentityFile, loadNamedIdentity } from "../identities.js";
import { OPEN_FAILURE_LOG_INTERVAL_MS, startSupervisedInlet } from "./supervised-inlet.js";
import { RateLimitedLog } from "./rate-limited-log.js";
import { relayServiceLog } from "./relay-service-log.js";
import { whatIsNamed } from "./unknown-address.js";
import { inRelayTerms } from "./relay-failures.js";

/** Where a node's lifecycle lines go (one readable line each). */
export type LineLog = (line: string) => void;

/** A node started from a configuration. */
export interface RunningNode {
  readonly node: Node;
  readonly identity: Identity;
  /** Stops everything the configuration started, then the node. */
  stop(): Promise<void>;
}

/** How startNodeFromConfig finds identities and reports. */
export interface StartNodeOptions {
  /** The hopwire home, for identities given by name. */
  home: string;
  /** What errors name as the configuration's source (a file, or "command line"). */
  source: string;
  log: LineLog;
  /** Where warnings go, one line each (an identity file others can read); default: none. */
  warn?: LineLog;
  /**
   * Called when the running node can no longer do its job and will not recover by itself (a
   * relay registration refused after start-up: a refusal is final): the caller stops it and
   * exits 1, so that a supervisor restarts it. Default: only the log line.
   */
  fatal?: (line: string) => void;
}

/** Reads the configuration's identity; an unreadable one is a ConfigError at `identity`. */
export async function resolveIdentity(config: NodeConfig, options: StartNodeOptions): Promise<Identity> {
  const ref = config.identity;
  if (ref === undefined) return createIdentity();
  try {
    const warn = options.warn;
    return typeof ref === "string" ? await loadNamedIdentity(options.home, ref, { warn }) : await loadIdentityFile(ref.file, { warn });
  } catch (error) {
    if (typeof ref === "string") throw ConfigError.at(options.source, ["identity"], `${(error as Error).message}${fileHint(ref)}`);
    throw ConfigError.at(options.source, ["identity", "file"], identityFileProblem(ref.file, error));
  }
}

/**
 * Why loadIdentity refused `file`: one it could not read by the Node code (its
 * IdentityFileError's reason: ENOENT, EACCES); one it read that holds no identity by the
 * reason it gives, as that code alone (INVALID_IDENTITY_EXPORT) does not say what is wrong.
 */
function identityFileProblem(file: string, error: unknown): string {
  const quoted = JSON.stringify(file);
  if (error instanceof IdentityFileError) return `cannot read the identity file ${quoted}${refusedFile(error.reason)} (${error.reason ?? error.message})`;
  if (error instanceof SecureChannelError) return `the identity file ${quoted} was read, but it is not an identity: ${error.message} (${error.code})`;
  return `cannot read the identity file ${quoted} (${(error as { code?: string }).code ?? (error as Error).message})`;
}

/** In words, loadIdentity's reasons for a file it would not read (its others are Node codes, which say it). */
function refusedFile(reason: string | undefined): string {
  switch (reason) {
    case "NOT_REGULAR_FILE":
      return ": not a regular file (a FIFO or a device)";
    case "FILE_TOO_LARGE":
      return `: larger than ${MAX_IDENTITY_FILE_BYTES / 1024} KiB, more than any identity file`;
    default:
      return "";
  }
}

function trustPolicy(trust: TrustConfig): TrustPolicy {
  return trust === "everyone" ? trustEveryone() : trustIdentifiers(trust);
}

function describeTrust(trust: TrustConfig): string {
  return trust === "everyone" ? "trusts everyone" : `trusts ${trust.length} identit${trust.length === 1 ? "y" : "ies"}`;
}

/**
 * The node's warnings (messages it dropped, handlers that threw) through `options.warn`,
 * in words for the configuration's user where the runtime's speak to a programmer. Without
 * `warn`, or with HOPWIRE_WARNINGS=off, the runtime's defaults (stderr; off).
 */
function warningOptions(config: NodeConfig, options: StartNodeOptions, senders: SenderNames): NodeOptions {
  const warn = options.warn;
  if (warn === undefined || !warningsFromEnvironment()) return {};
  return { warnings: (_line, warning) => warn(forConfigurationUsers(warning, config, senders.describe)) };
}

/**
 * Names the `from` of a warning for an operator: the runtime gives the generated address of
 * the connection a message came in on (32 hex characters), which says nothing; its peer's
 * address does. Set once the node's TCP transport exists.
 */
class SenderNames {
  connections: () => readonly TcpConnection[] = () => [];

  readonly describe = (from: string): string => {
    const connection = this.connections().find((c) => c.receiverAddress.key === from);
    return connection === undefined ? from : `${from}, the connection with ${connection.peer}`;
  };
}

/**
 * A node warning as this command writes it: `warning: ` (`warn` adds `hopwire: `), then the
 * runtime's body, or for a message to an address nobody has, advice in terms of the
 * configuration in its place; the runtime's suffix (what its rate limit held back) either way.
 * The CLI reads the warning's fields, never the runtime's sentences: those may change.
 */
export function forConfigurationUsers(warning: NodeWarning, config: NodeConfig, describeSender: (from: string) => string = (from) => from): string {
  return `warning: ${ownBody(warning, config, describeSender) ?? warning.parts.body}${warning.parts.suffix}`;
}

/** The CLI's own words for the warnings whose runtime advice speaks to a programmer; undefined for the rest. */
function ownBody(warning: NodeWarning, config: NodeConfig, describeSender: (from: string) => string): string | undefined {
  switch (warning.kind) {
    case "dropped":
      // A generated address (a request's reply address) is nothing a configuration names: the
      // runtime's words (a late reply) fit it.
      if (warning.reason !== "unknown-address") return undefined;
      if (!warning.generated) return unknownAddress(warning, config, describeSender);
      // A connection's or channel's own address (hex, meaningless to an operator) that went away with a reason.
      return warning.gone === undefined ? undefined : goneMidway(warning.gone);
    case "denied":
      return denied(warning, describeSender);
    case "refused":
      return warning.reason === "HANDSHAKE_UNTRUSTED_IDENTITY" ? untrustedPeer(warning) : undefined;
    default:
      return undefined;
  }
}

/** In place of the runtime's advice (the listener's trustPolicy, in code): the flag and the key that set it. */
function untrustedPeer({ listener, peer, via }: RefusedWarning): string {
  const who = peer ?? `an unauthenticated peer (via ${via})`;
  return (
    `"${listener}" refused a secure channel from ${who}: its identity is not trusted here. If it should be, ` +
    `add --trust ${peer ?? "<identifier>"} to this node's command (secureChannelListeners[].trust in a configuration file); ` +
    `the other side gets SecureChannelRefusedError (reason HANDSHAKE_UNTRUSTED_IDENTITY).`
  );
}

/**
 * In place of the runtime's advice (`flowControls.addConsumer(...)`, which a configuration
 * cannot call): the configuration decides what each listener's peers may reach, so a denial
 * is a peer that went around it — straight over TCP to what only a secure channel reaches, or
 * over a channel or connection older than a restart of the node at its other end.
 */
function denied({ address: raw, from }: DeniedWarning, describeSender: (from: string) => string): string {
  const address = clipForLog(raw);
  return (
    `refused a message from the network for "${address}": this configuration does not let it reach "${address}" from where it came (${describeSender(from)}). ` +
    `A peer gets this when it sends there without the secure channel the configuration puts in front of it, or over a channel or connection ` +
    `that outlived a restart at its other end. The sender is not told; it sees a timeout.`
  );
}

/**
 * A message for a connection or channel that closed while it was on its way: what a relay
 * node sees each time a client disconnects mid-transfer. The runtime names both ends by their
 * generated addresses; an operator needs the reason and that it is expected.
 */
function goneMidway(gone: string): string {
  return `dropped a message for a connection or secure channel that had just closed (${clipForLog(gone)}): it was on its way when that happened, as when a client disconnects mid-transfer; nothing to fix unless it keeps happening.`;
}

/**
 * In place of the runtime's body, whose advice ("start it (node.startWorker(...)) or fix the
 * route the sender used") speaks to a programmer: what the node has under that name, and
 * which setting of the sender names it. The whole body is the CLI's own, so that rewording
 * the runtime's cannot garble it.
 */
function unknownAddress({ from, address }: DroppedWarning, config: NodeConfig, describeSender: (from: string) => string): string {
  const shown = clipForLog(address); // from the network: cut short (and escaped where the line is written)
  const why = whatIsNamed(shown, config);
  return `dropped a message from ${describeSender(from)} for "${shown}": ${why}${/[.?]$/.test(why) ? "" : "."} The sender is not told; it sees a timeout.`;
}

/**
 * The outlet's side of a connection its target refused (the service behind it is down): the
 * inlet's client only sees a reset and the inlet a code, so the node next to the service says
 * why, once per OPEN_FAILURE_LOG_INTERVAL_MS and then a count.
 */
function reportUnreachableTarget(n: Node, outlet: Outlet, what: string, log: LineLog): void {
  const failures = new RateLimitedLog(log, OPEN_FAILURE_LOG_INTERVAL_MS);
  outlet.onStreamClosed((reason) => {
    if (reason?.code !== "PORTAL_TARGET_UNREACHABLE" || outlet.stopped) return;
    failures.report(
      reason.code,
      () => `${what}: a connection could not reach the target (${reason.message})`,
      (count, seconds) => `${what}: ${count} more connection${count === 1 ? "" : "s"} could not reach the target in ${seconds} s`,
    );
  });
  n.onStop(() => failures.stop());
}

/**
 * OPENs the outlet refused (a target not on --allow-target, no room for another stream): the
 * inlet's side logs its reason, and the outlet's operator should see the attempt too, once per
 * OPEN_FAILURE_LOG_INTERVAL_MS per kind and then a count.
 */
function reportRefusedStreams(n: Node, outlet: Outlet, what: string, log: LineLog): void {
  const refusals = new RateLimitedLog(log, OPEN_FAILURE_LOG_INTERVAL_MS);
  outlet.onRefused((reason) => {
    if (outlet.stopped) return;
    const hint = reason.code === "PORTAL_TARGET_NOT_ALLOWED" ? " (--allow-target, outlets[].allow)" : "";
    refusals.report(
      reason.code,
      () => `${what}: refused a connection: ${reason.message}${hint} (${reason.code})`,
      (count, seconds) => `${what}: refused ${count} more connection${count === 1 ? "" : "s"} for the same reason (${reason.code}) in ${seconds} s`,
    );
  });
  n.onStop(() => refusals.stop());
}

/** A configured listener's limits; the transport's defaults for those left out. */
function listenerOptions(l: NonNullable<NodeConfig["tcpListeners"]>[number]): TcpListenerOptions {
  const options = new TcpListenerOptions();
  if (l.maxConnections !== undefined) options.withMaxConnections(l.maxConnections);
  if (l.maxConnectionsPerHost !== undefined) options.withMaxConnectionsPerHost(l.maxConnectionsPerHost);
  if (l.idleTimeout !== undefined) options.withIdleTimeout(l.idleTimeout);
  return options;
}

/**
 * Starts one node as `config` says, in this order: TCP listeners, relay registrations,
 * secure channel listeners, the relay service, outlets, inlets. Every step logs a line;
 * a failure stops what was started and rethrows.
 */
export async function startNodeFromConfig(config: NodeConfig, options: StartNodeOptions): Promise<RunningNode> {
  const { log } = options;
  const identity = await resolveIdentity(config, options);
  const senders = new SenderNames();
  const n = await createNode({ ...warningOptions(config, options, senders), busyPollMicros: config.busyPollMicros ?? 0 });
  try {
    log(`identity ${identity.identifier}`);
    const tcp = await createTcpTransport(n);
    senders.connections = () => tcp.connections;
    const tcpFlows: FlowControlId[] = [];
    for (const l of config.tcpListeners ?? []) {
      const listener = await tcp.listen(l.address, listenerOptions(l));
      tcpFlows.push(listener.flowControlId);
      log(`tcp listener ${listener.address.toString()}`);
    }

    const relayFlows: FlowControlId[] = [];
    for (const r of config.relays ?? []) {
      const at = resolvePeer(config, r.at);
      let registered = false; // before, a refusal is the start-up's failure (exit 1 from there)
      const remote = await createRemoteRelay(n, {
        name: r.name,
        identity,
        connect: tcpRelayConnector(tcp, at),
        trust: trustPolicy(r.trust),
        listener: r.listener,
        service: r.service,
        retryUntilRegistered: true,
        onEvent: (e) => {
          if (e.kind === "registered" && e.registrations > 1) log(`relay ${r.name} registered again at ${at} (${e.address})`);
          else if (e.kind === "disconnected") log(`relay ${r.name} disconnected from ${at}: ${e.reason.message}`);
          else if (e.kind === "retrying") log(`relay ${r.name} reconnecting to ${at} in ${e.delayMs} ms: ${e.reason.message}`);
          else if (e.kind === "refused") {
            const line = `relay ${r.name} refused by ${at}: ${e.error.message}`;
            // Running on without the relay, the node would look alive to its supervisor and be unreachable for good.
            if (registered && options.fatal) options.fatal(`${line}: a refusal is final, so this node stops (exit 1) for its supervisor to restart it once the relay node is fixed`);
            else log(line);
          } else if (e.kind === "replaced") {
            // Not fatal: restarting would take the name back from the other registrant, which would then do the same.
            log(`relay ${r.name} taken over at ${at} by another registrant: no longer registered (two nodes register "${r.name}"; restart this one to take the name back)`);
          }
        },
      }).catch((error: unknown) => {
        throw inRelayTerms(error, { name: r.name, at, identity });
      });
      registered = true;
      relayFlows.push(remote.flowControlId);
      log(`relay ${r.name} registered at ${at} (${remote.forwarderAddress})`);
    }

    const channelFlows: FlowControlId[] = [];
    for (const s of config.secureChannelListeners ?? []) {
      let sclOptions = new SecureChannelListenerOptions().withTrustPolicy(trustPolicy(s.trust));
      for (const id of [...tcpFlows, ...relayFlows]) sclOptions = sclOptions.asConsumer(id);
      if (s.maxChannels !== undefined) sclOptions = sclOptions.withMaxChannels(s.maxChannels);
      if (s.maxChannelsPerConnection !== undefined) sclOptions = sclOptions.withMaxChannelsPerConnection(s.maxChannelsPerConnection);
      const scl = await createSecureChannelListener(n, identity, s.address, sclOptions);
      channelFlows.push(scl.flowControlId);
      log(`secure channel listener ${s.address} (${describeTrust(s.trust)})`);
    }

    if (config.relayService) {
      const rs = config.relayService;
      const events = relayServiceLog(log);
      n.onStop(events.stop);
      await startRelayService(n, {
        address: rs.address,
        policy: rs.allow === "everyone" ? allowAnyIdentity() : allowRegistrations(rs.allow),
        serviceConsumerOf: channelFlows,
        forwarderConsumerOf: tcpFlows,
        onEvent: events.onEvent,
      });
      const names = rs.allow === "everyone" ? "any name, any identity" : Object.keys(rs.allow).join(", ") || "no names";
      log(`relay service ${rs.address} (${names})`);
    }

    {
      for (const o of config.outlets ?? []) {
        const outlet = await createOutlet(n, {
          address: o.address,
          to: o.to,
          ...(o.allow ? { allow: o.allow } : {}),
          ...(o.maxStreams !== undefined ? { maxStreams: o.maxStreams } : {}),
          ...(o.maxStreamsPerChannel !== undefined ? { maxStreamsPerChannel: o.maxStreamsPerChannel } : {}),
          ...(o.maxOpensPerSecondPerChannel !== undefined ? { maxOpensPerSecondPerChannel: o.maxOpensPerSecondPerChannel } : {}),
          asConsumer: channelFlows,
        });
        reportUnreachableTarget(n, outlet, `outlet ${o.address} -> ${o.to}`, log);
        reportRefusedStreams(n, outlet, `outlet ${o.address} -> ${o.to}`, log);
        log(`outlet ${o.address} -> ${o.to}${o.allow?.length ? ` (inlets may also ask for: ${o.allow.join(", ")})` : ""}`);
      }
      for (const i of config.inlets ?? []) {
        const via = resolvePeer(config, i.via);
        const hops = i.relay === undefined ? [i.listener] : [forwarderAddress(i.relay), i.listener];
        const inlet = await startSupervisedInlet(n, tcp, identity, { listen: i.listen, via, hops, relay: i.relay, outlet: i.outlet, ...(i.target === undefined ? {} : { target: i.target }), trust: trustPolicy(i.trust) }, log);
        log(`inlet ${inlet.address} -> ${[via, ...hops, i.outlet].join(" -> ")}${i.target === undefined ? "" : ` (target ${i.target})`} (secure channel to ${inlet.peerIdentifier})`);
      }
    }
  } catch (error) {
    await n.stop().catch(() => {});
    throw error;
  }
  return { node: n, identity, stop: () => n.stop() };
}
