import { route, waitFor, type Node } from "@hopwire/runtime";
import { createSecureChannel, SecureChannelOptions, type Identity, type SecureChannel, type TrustPolicy } from "@hopwire/secure-channel";
import { TcpConnectionOptions, type TcpConnection, type TcpTransport } from "@hopwire/transport-tcp";
import { createInlet, type Inlet } from "@hopwire/portal";
import { backoffDelay } from "@hopwire/relay";
import type { LineLog } from "./start-node.js";

/** What a supervised inlet connects through: `via`, then `hops` (e.g. forward_to_bob, api), then the outlet. */
export interface InletPlan {
  listen: string;
  via: string;
  hops: string[];
  outlet: string;
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
 * Starts an inlet whose route is a secure channel over a TCP connection to `plan.via`. When
 * the channel closes (its connection dropped, the relay node restarted, the outlet's node
 * went away), the inlet stops listening, and the channel and the inlet are opened again on
 * the same address, with backoff (250 ms doubling to 10 s), until the node stops. The first
 * opening's failure is the caller's.
 */
export async function startSupervisedInlet(n: Node, tcp: TcpTransport, identity: Identity, plan: InletPlan, log: LineLog): Promise<SupervisedInlet> {
  const stopping = new AbortController();
  let current = await open(plan.listen);
  const address = current.inlet.address; // the same port again on every reopening
  const describe = [plan.via, ...plan.hops, plan.outlet].join(" -> ");

  async function open(listen: string): Promise<{ connection: TcpConnection; channel: SecureChannel; inlet: Inlet; unwatch: () => void }> {
    const connection = await tcp.connect(plan.via, new TcpConnectionOptions(), { signal: stopping.signal });
    try {
      const channel = await createSecureChannel(
        n,
        identity,
        route(connection, ...plan.hops),
        new SecureChannelOptions().withTrustPolicy(plan.trust).withSignal(stopping.signal),
      );
      const inlet = await createInlet(n, { listen, route: route(channel, plan.outlet) });
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
    await current.connection.stop().catch(() => {});
  }

  async function reopen(reason: Error): Promise<void> {
    if (stopping.signal.aborted) return;
    log(`inlet ${address} lost its secure channel (${reason.message}): opening it again`);
    await close();
    for (let failures = 0; !stopping.signal.aborted; failures++) {
      const delayMs = backoffDelay(failures);
      try {
        await sleepFor(delayMs, stopping.signal);
        current = await open(address);
        log(`inlet ${address} -> ${describe} (secure channel to ${current.channel.peerIdentifier}, opened again)`);
        return;
      } catch (error) {
        if (stopping.signal.aborted) return;
        log(`inlet ${address}: could not open its secure channel again (${(error as Error).message}); retrying`);
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
      await close();
    },
  };
  n.onStop(() => supervised.stop());
  return supervised;
}

function sleepFor(ms: number, signal: AbortSignal): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  return waitFor<void>((resolve) => (timer = setTimeout(resolve, ms)), { what: "waiting", signal, cleanup: () => clearTimeout(timer) });
}
