// The nodes of the relay tests added in session 56: each test's nodes in one list, stopped (and their
// child processes killed) after it, and a relay node as `hopwire relay` runs one (a TCP listener, the
// secure channel listener "api", a relay service that lets anyone register).
import { afterEach } from "vitest";
import { node, type Node } from "@hopwire/runtime";
import { createIdentity, createSecureChannelListener, SecureChannelListenerOptions } from "@hopwire/secure-channel";
import { createTcpTransport, TcpListenerOptions, type TcpTransport } from "@hopwire/transport-tcp";
import { killAll } from "../../../test/support/children.js";
import { allowAnyIdentity, startRelayService, type RelayService, type RelayServiceEvent } from "../dist/index.js";

const nodes: Node[] = [];

/** Registers the afterEach that kills the test's child processes and stops its nodes (call once per file). */
export function stopNodesAfterEach(): void {
  afterEach(async () => {
    killAll();
    await Promise.all(nodes.splice(0).map((n) => n.stop()));
  });
}

/** A node with a TCP transport, stopped after the test. */
export async function startNode(name: string): Promise<{ n: Node; tcp: TcpTransport }> {
  const n = await node({ name, warnings: false });
  nodes.push(n);
  return { n, tcp: await createTcpTransport(n) };
}

/** A relay node: its TCP listener's "host:port" is `address`; `api` options the listener "api" (a consumer of the TCP listener). */
export async function startRelayNode(
  onEvent?: (event: RelayServiceEvent) => void,
  api: SecureChannelListenerOptions = new SecureChannelListenerOptions(),
): Promise<{ n: Node; tcp: TcpTransport; service: RelayService; address: string }> {
  const { n, tcp } = await startNode("relay");
  const listener = await tcp.listen("127.0.0.1:0", new TcpListenerOptions());
  const apiListener = await createSecureChannelListener(n, await createIdentity(), "api", api.asConsumer(listener.flowControlId));
  const service = await startRelayService(n, {
    policy: allowAnyIdentity(),
    serviceConsumerOf: apiListener.flowControlId,
    forwarderConsumerOf: listener.flowControlId,
    ...(onEvent ? { onEvent } : {}),
  });
  return { n, tcp, service, address: listener.address.toString() };
}

/** Calls `echo` `count` times, `gapMs` apart: each one's time ("3ms") or error code, and how many failed. */
export async function echoesOverTime(count: number, gapMs: number, echo: () => Promise<number>): Promise<{ results: string[]; failures: number }> {
  const results: string[] = [];
  let failures = 0;
  for (let i = 0; i < count; i++) {
    try {
      results.push(`${(await echo()).toFixed(0)}ms`);
    } catch (error) {
      failures++;
      results.push((error as { code?: string }).code ?? String(error));
    }
    await new Promise((r) => setTimeout(r, gapMs));
  }
  return { results, failures };
}
