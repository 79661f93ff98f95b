import { TimeoutError, route, waitFor, type Node } from "@hopwire/runtime";
import {
  createSecureChannel,
  DEFAULT_HANDSHAKE_TIMEOUT,
  SecureChannelHandshakeError,
  SecureChannelOptions,
  SecureChannelRefusedError,
  UntrustedIdentityError,
  type Identity,
  type SecureChannel,
  type TrustPolicy,
} from "@hopwire/secure-channel";
import { ConnectError, TcpConnectionOptions, TcpProtocolError, type TcpConnection, type TcpTransport } from "@hopwire/transport-tcp";
import { createInlet, DEFAULT_MAX_STREAMS, DEFAULT_MAX_STREAMS_PER_CHANNEL, DEFAULT_MAX_OPENS_PER_SECOND_PER_CHANNEL, DEFAULT_OPEN_TIMEOUT_MS, type Inlet } from "@hopwire/portal";
import { backoffDelay } from "@hopwire/relay";
import { RateLimitedLog } from "./rate-limited-log.js";
import { checkCanListen } from "./listen-check.js";
import type { LineLog } from "./start-node.js";

/** How often an inlet logs again about client connections that fail to open for one reason (ms). */
export const OPEN_FAILURE_LOG_INTERVAL_MS = 10_000;

/** What a supervised inlet connects through: `via`, then `hops` (e.g. forward_to_bob, api), then the outlet. */
export interface InletPlan {
  listen: string;
  via: string;
  hops: string[];
  /** The relay name when `hops` go through a relay node's forwarder (`--via name@host:port`). */
  relay?: string;
  outlet: string;
  /** The target to ask the outlet for, instead of its own `to` (it must be on the outlet's allow-list). */
  target?: string;
  trust: TrustPolicy;
}

/** An inlet that opens its secure channel again when it closes. */
export interface SupervisedInlet {
  /** Where the inlet listens ("host:port", the port chosen by the system if it was 0). */
  readonly address: string;
  readonly peerIdentifier: string;
  stop(): Promise<void>;
}

/**
 * How long a stopping inlet's channel waits for what it still queued (stream frames short of
 * the outlet's credit) before it closes anyway: well within the CLI's stop timeout.
 */
const CHANNEL_CLOSE_TIMEOUT_MS = 1_000;

/** The handshake timeout of the first attempt to open a lost channel again (ms); it doubles with each handshake that timed out. */
export const REOPEN_HANDSHAKE_TIMEOUT_MS = 2_000;

/**
 * How long an attempt waits for its handshake after `timedOut` earlier attempts' handshakes timed out. A channel through a
 * relay can open only once the outlet's node has registered again, which it does within
 * seconds of the relay node's return: a short first wait (doubling up to the default, for a
 * slow path) lets the inlet try again soon after that, rather than 10 s after an attempt
 * that came too early.
 */
export function reopenHandshakeTimeout(timedOut: number): number {
  return Math.min(DEFAULT_HANDSHAKE_TIMEOUT, REOPEN_HANDSHAKE_TIMEOUT_MS * 2 ** Math.min(timedOut, 10));
}

/**
 * Starts an inlet whose route is a secure channel over a TCP connection to `plan.via`. When
 * the channel closes (its connection dropped, the relay node restarted, the outlet's node
 * went away), the inlet stops listening, and the channel and the inlet are opened again on
 * the same address, with backoff (250 ms doubling to 10 s), until the node stops. The first
 * opening waits for --via the same way (openAtStart); a failure that retrying would not
 * change (trust, a refusal) is the caller's.
 */
export async function startSupervisedInlet(n: Node, tcp: TcpTransport, identity: Identity, plan: InletPlan, log: LineLog): Promise<SupervisedInlet> {
  const stopping = new AbortController();
  const describe = [plan.via, ...plan.hops, plan.outlet].join(" -> ");
  const target = plan.target === undefined ? "" : ` (target ${plan.target})`; // as the first opening's line has it
  const openFailures = new RateLimitedLog(log, OPEN_FAILURE_LOG_INTERVAL_MS);
  // Where it listens: for port 0 the port the check was given, so that the lines before the
  // channel opens name the port it will listen on (they said "127.0.0.1:0"), then the bound
  // one, the same port again on every reopening.
  let address = await checkCanListen(plan.listen);
  // The node's stop ends the wait for --via (a library caller's; the command exits on a signal during start-up).
  const removeStartHook = n.onStop(() => stopping.abort());
  let current: Awaited<ReturnType<typeof open>>;
  try {
    current = await openAtStart();
  } finally {
    removeStartHook();
  }
  address = current.inlet.address;

  /**
   * Opens the channel and the inlet for the first time, waiting for the node at --via as a
   * relay registration waits for its relay node: a refused connection or an unanswered
   * handshake (that node, or the outlet's registration, is not there yet) is retried with
   * backoff, each logged; any other failure (trust, a refusal, a peer that is no Hopwire
   * node) is final. Before session 56 the first failure was: an inlet started before its
   * relay node exited 1, where an outlet started then waited (a user trial).
   */
  async function openAtStart(): Promise<Awaited<ReturnType<typeof open>>> {
    let timedOut = 0;
    let failures = 0;
    for (;;) {
      const handshakeTimeout = reopenHandshakeTimeout(timedOut);
      try {
        return await open(address, handshakeTimeout, plan.listen);
      } catch (error) {
        const said = atStart(error, handshakeTimeout);
        if (stopping.signal.aborted || !worthRetrying(said)) throw said;
        if (said instanceof TimeoutError) timedOut++;
        failures = nextFailures(failures, said);
        const delayMs = backoffDelay(failures - 1);
        log(`inlet ${address}: could not open its secure channel (${(said as Error).message}); retrying in ${delayMs} ms`);
        await sleepFor(delayMs, stopping.signal);
      }
    }
  }

  /** A first opening's failure in the command's terms. */
  function atStart(error: unknown, handshakeTimeout: number): unknown {
    if (error instanceof TimeoutError) return noAnswer(plan, error, handshakeTimeout);
    if (error instanceof ConnectError) return unreachable(plan, error);
    if (error instanceof SecureChannelRefusedError && error.reason === "HANDSHAKE_UNTRUSTED_IDENTITY") return untrusted(identity, error);
    if (error instanceof SecureChannelHandshakeError && error.cause instanceof UntrustedIdentityError) return notTrusted(plan, error, error.cause);
    return error;
  }

  /**
   * A client connection whose stream could not be opened: the outlet never answered, or
   * refused it. Its client only sees a reset (after the open timeout when nobody answers);
   * this line says why, naming the outlet.
   */
  function reportOpenFailure(reason: Error | undefined): void {
    const code = (reason as { code?: unknown } | undefined)?.code;
    const detail = (reason?.cause as { code?: unknown } | undefined)?.code;
    const why = typeof code === "string" ? openFailure(code, plan.outlet, plan.relay !== undefined, typeof detail === "string" ? detail : undefined) : undefined;
    if (why === undefined) return; // a clean close, or an end after the stream opened
    openFailures.report(
      code as string,
      () => `inlet ${address}: a connection could not be opened through outlet "${plan.outlet}" (${describe}): ${why}`,
      (count, seconds) => `inlet ${address}: ${count} more connection${count === 1 ? "" : "s"} could not be opened through outlet "${plan.outlet}" in ${seconds} s: ${why}`,
    );
  }

  /** `asked`: at start, what --from asked for, listened on if `listen` (the port the system chose for port 0) was taken since. */
  async function open(
    listen: string,
    handshakeTimeout = DEFAULT_HANDSHAKE_TIMEOUT,
    asked?: string,
  ): Promise<{ connection: TcpConnection; channel: SecureChannel; inlet: Inlet; unwatch: () => void }> {
    const connection = await tcp.connect(plan.via, new TcpConnectionOptions(), { signal: stopping.signal });
    try {
      const channel = await createSecureChannel(
        n,
        identity,
        route(connection, ...plan.hops),
        new SecureChannelOptions().withTrustPolicy(plan.trust).withSignal(stopping.signal).withHandshakeTimeout(handshakeTimeout),
      );
      const inletOn = (on: string): Promise<Inlet> => createInlet(n, { listen: on, route: route(channel, plan.outlet), ...(plan.target === undefined ? {} : { target: plan.target }) });
      const inlet = await inletOn(listen).catch((error: unknown) => {
        // Port 0 asks for any free port: if another process took the one chosen while the channel opened, another one.
        if (asked !== undefined && asked !== listen && (error as { code?: unknown }).code === "PORTAL_LISTEN") {
          log(`inlet ${listen}: another process took that port meanwhile; listening on another (${asked} asks for any)`);
          return inletOn(asked);
        }
        throw error;
      });
      inlet.onStreamClosed(reportOpenFailure);
      const unwatch = n.router.watchHop(channel.address, (reason) => void reopen(reason));
      return { connection, channel, inlet, unwatch };
    } catch (error) {
      await connection.stop().catch(() => {});
      throw error;
    }
  }

  async function close(): Promise<void> {
    current.unwatch();
    await current.inlet.stop().catch(() => {});
    // The channel first, so that its CLOSE goes out on the connection: stopped under it, it
    // closed without a word (its first hop went away), and the outlet's end stayed open until
    // its node stopped or its peer timeout, whose CLOSE a relay node then dropped with a
    // warning (the inlet's connection there had closed). A channel already closed returns at once.
    await current.channel.close({ timeoutMs: CHANNEL_CLOSE_TIMEOUT_MS }).catch(() => {});
    await current.connection.stop().catch(() => {});
  }

  async function reopen(reason: Error): Promise<void> {
    if (stopping.signal.aborted) return;
    log(`inlet ${address} lost its secure channel (${reason.message}): opening it again`);
    await close();
    // Handshakes that timed out: only they lengthen the next handshake's wait (a refused
    // connection, while the relay node is still down, says nothing about the path's speed).
    let timedOut = 0;
    for (let failures = 0; !stopping.signal.aborted; ) {
      const delayMs = backoffDelay(failures);
      const handshakeTimeout = reopenHandshakeTimeout(timedOut);
      try {
        await sleepFor(delayMs, stopping.signal);
        current = await open(address, handshakeTimeout);
        log(`inlet ${address} -> ${describe}${target} (secure channel to ${current.channel.peerIdentifier}, opened again)`);
        return;
      } catch (error) {
        if (stopping.signal.aborted) return;
        if (error instanceof TimeoutError) {
          timedOut++;
          error = noAnswer(plan, error, handshakeTimeout); // in the command's terms, as at start-up
        }
        failures = nextFailures(failures, error);
        // The channel may have opened and the listen failed (another process took the port meanwhile).
        const what = (error as { code?: unknown }).code === "PORTAL_LISTEN" ? "could not listen again" : "could not open its secure channel again";
        log(`inlet ${address}: ${what} (${(error as Error).message}); retrying`);
      }
    }
  }

  const supervised: SupervisedInlet = {
    address,
    get peerIdentifier() {
      return current.channel.peerIdentifier;
    },
    async stop() {
      if (stopping.signal.aborted) return;
      stopping.abort();
      removeStopHook();
      await close();
      openFailures.stop();
    },
  };
  const removeStopHook = n.onStop(() => supervised.stop());
  return supervised;
}

/**
 * Whether a first opening that failed so may succeed later: a handshake unanswered (the
 * outlet not registered yet), a connection refused (the node not up yet). Not what listens at
 * --via answering as no Hopwire node does (a protocol error under the ConnectError): that
 * stays so, as for a relay registration.
 */
function worthRetrying(error: unknown): error is Error {
  if (error instanceof TimeoutError) return true;
  return error instanceof ConnectError && causeWhere(error.cause, (e) => e instanceof TcpProtocolError) === undefined;
}

/**
 * The failures in a row that set the wait before the next try (backoffDelay), after `error`.
 * A handshake that timed out restarts the count: its connection went through, so the node at
 * --via is back, and the handshake's own timeout, doubling, paces the tries. Counted on, the
 * refusals while a relay node restarted made the inlet wait seconds more once the outlet had
 * registered again (a user trial: 8 s of a 10.6 s recovery).
 */
export function nextFailures(failures: number, error: unknown): number {
  return error instanceof TimeoutError ? 1 : failures + 1;
}

/**
 * The first handshake went unanswered: said in the command's terms (the channel's own message
 * names internal addresses and flow controls). Through a relay, the likely cause is that no
 * outlet registered that name (the relay node drops the handshake and logs it).
 */
function noAnswer(plan: InletPlan, error: TimeoutError, timeoutMs = DEFAULT_HANDSHAKE_TIMEOUT): TimeoutError {
  const relay = plan.relay;
  const hint =
    relay !== undefined
      ? `is an outlet registered as "${relay}" at ${plan.via} (hopwire outlet --relay ${relay}@${plan.via})? If none is, the relay node logs: no relay is registered as "${relay}"`
      : `is ${plan.via} a node with a secure channel listener "${plan.hops.at(-1) ?? "api"}" (hopwire outlet --listen)?`;
  return new TimeoutError(`no answer to the secure channel handshake through ${plan.via} (${plan.hops.join(" -> ")}) within ${timeoutMs / 1000} s: ${hint}`, {
    cause: error,
  });
}

/** A connection to --via failed at start-up: said in the command's terms (the inlet retries it). */
function unreachable(plan: InletPlan, error: ConnectError): ConnectError {
  // A name that does not resolve may be a typo, or a host not up yet (a container starting): retried, but said first.
  if (causeCode(error) === "ENOTFOUND") {
    return new ConnectError(`${error.message}: is the host name of --via ${plan.via} (inlets[].via) spelt right?`, { cause: error });
  }
  const who = plan.relay === undefined ? "the outlet's node (hopwire outlet --listen)" : "the relay node (hopwire relay --listen)";
  return new ConnectError(`${error.message}: is ${who} running at --via ${plan.via} (inlets[].via)?`, { cause: error });
}

/** The system error code (ECONNREFUSED, ENOTFOUND, …) somewhere under `error`. */
function causeCode(error: Error): string | undefined {
  const isSystemCode = (code: unknown): code is string => typeof code === "string" && code.startsWith("E") && !code.includes("_");
  return (causeWhere(error, (e) => isSystemCode((e as { code?: unknown }).code)) as { code?: string } | undefined)?.code;
}

/** The first of `error` and its causes, six levels down, that `test` accepts. */
function causeWhere(error: unknown, test: (e: Error) => boolean): Error | undefined {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 6; e = e.cause, depth++) if (test(e)) return e;
  return undefined;
}

/** The outlet's node refused this identity: what to change there, in the command's terms. */
function untrusted(identity: Identity, error: SecureChannelRefusedError): SecureChannelRefusedError {
  return new SecureChannelRefusedError(
    `The outlet's node refused the secure channel: it does not trust this node's identity ${identity.identifier} (HANDSHAKE_UNTRUSTED_IDENTITY). ` +
      `If it should, add --trust ${identity.identifier} to the outlet's command (secureChannelListeners[].trust in its configuration file)`,
    { reason: error.reason, cause: error },
  );
}

/**
 * The node that answered is not one this inlet trusts: said in the command's terms. Straight
 * to a relay node (`--via host:port`, no name), the relay node's own listener answers, with
 * its own identity: the likely slip is a missing `<name>@`.
 */
function notTrusted(plan: InletPlan, error: SecureChannelHandshakeError, cause: UntrustedIdentityError): SecureChannelHandshakeError {
  const peer = cause.identifier ?? "an identity";
  // Through a relay, the node that answered is the outlet's, behind the relay node at --via.
  const who = plan.relay === undefined ? `The node at ${plan.via}` : `The outlet's node, reached through "${plan.relay}" at the relay node ${plan.via},`;
  return new SecureChannelHandshakeError(
    `${who} answered as ${peer}, an identity this inlet does not trust (--trust, inlets[].trust).` +
      (plan.relay === undefined ? " If that node is a relay node, name the relay the outlet registered: --via <name>@host:port (inlets[].relay)." : ""),
    { cause: error },
  );
}

function sleepFor(ms: number, signal: AbortSignal): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  return waitFor<void>((resolve) => (timer = setTimeout(resolve, ms)), { what: "waiting", signal, cleanup: () => clearTimeout(timer) });
}

/** Why a stream ended before it opened, for the errors that mean that; undefined for the others. */
function openFailure(code: string, outlet: string, throughRelay: boolean, detail: string | undefined): string | undefined {
  switch (code) {
    case "PORTAL_OPEN_TIMEOUT":
      return (
        `no answer within ${DEFAULT_OPEN_TIMEOUT_MS / 1000} s (PORTAL_OPEN_TIMEOUT): is there an outlet "${outlet}" on that node (--outlet, inlets[].outlet)?` +
        // Straight to a relay node, the channel opens (with its relay service's listener) and no outlet is there.
        (throughRelay ? "" : " If that node is a relay node, name the relay the outlet registered: --via <name>@host:port (inlets[].relay).") +
        // A far node that exited closes its connection (behind a relay node, the relay node then closes the inlet's: the
        // next-hop rule), so the inlet opened a new channel at once; only a silent one is left to the channel's peer timeout.
        " Or has that node stopped answering? One whose process exited closes its connection" +
        (throughRelay ? " (and the relay node then closes this inlet's)" : "") +
        " and the inlet opens a new channel at once; one that hangs, or whose host is cut off, is known dead only once nothing was heard from it for the channel's peer timeout (30 s), and then the inlet opens a new one."
      );
    case "PORTAL_TARGET_UNREACHABLE":
      return detail === undefined
        ? "the outlet could not connect to its target (PORTAL_TARGET_UNREACHABLE; the outlet's node logs why)"
        : `the outlet could not connect to its target: ${detail} (PORTAL_TARGET_UNREACHABLE; the outlet's node logs the target)`;
    case "PORTAL_TARGET_NOT_ALLOWED":
      return (
        "the outlet does not allow the target asked for (PORTAL_TARGET_NOT_ALLOWED): an outlet connects to its --to target, " +
        "and to a target an inlet asks for (--target, inlets[].target) only if the outlet lists it (--allow-target, outlets[].allow)"
      );
    case "PORTAL_STREAM_LIMIT":
      // The code alone crosses: which of the outlet's limits it was, its node logs.
      return (
        `the outlet carries as many client connections as it may (PORTAL_STREAM_LIMIT): at most maxStreams in all (default ${DEFAULT_MAX_STREAMS}) ` +
        `and maxStreamsPerChannel from one inlet (default ${DEFAULT_MAX_STREAMS_PER_CHANNEL}), and it opens at most maxOpensPerSecondPerChannel a second ` +
        `from one inlet (default ${DEFAULT_MAX_OPENS_PER_SECOND_PER_CHANNEL}); the outlet's node logs which, and its config file raises them ` +
        "(outlets[].maxStreams, outlets[].maxStreamsPerChannel, outlets[].maxOpensPerSecondPerChannel). Connections its clients closed count until their streams end"
      );
    default:
      return undefined;
  }
}
