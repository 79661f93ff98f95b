// What every portal node role does once built (portal-node.ts, portal-relay-node.ts): says its
// port, runs until the harness stops it, then stops its node and reports its streams.
import type { Node } from "@hopwire/runtime";
import type { ChildIo } from "../proc/child.js";

export async function serveUntilStopped(io: ChildIo<{ port: number }>, n: Node, port: number, streams: () => number): Promise<{ streams: number }> {
  io.ready({ port });
  await new Promise<void>((resolve) => io.stop.addEventListener("abort", () => resolve()));
  const count = streams();
  await n.stop();
  return { streams: count };
}
