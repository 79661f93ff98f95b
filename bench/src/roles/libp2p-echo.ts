// Role: the listening end of peers/libp2p-rtt. A js-libp2p node (TCP + Noise + Yamux) on
// 127.0.0.1 port 0 writes every byte of the one stream back on it (frames come back as
// they came, so no parsing is needed), until the client closes or the harness says stop.
import { runBenchChild } from "../proc/child.js";
import { createNode, PROTOCOL, stopNode } from "./libp2p-node.js";
import type { Libp2pSinkReady } from "./libp2p-sink.js";

export interface Libp2pEchoResult {
  echoedBytes: number;
}

runBenchChild<Record<string, never>, Libp2pSinkReady, Libp2pEchoResult>(async (_p, io) => {
  const node = await createNode(true);
  let echoedBytes = 0;
  let resolveDone!: () => void;
  const done = new Promise<void>((res) => (resolveDone = res));
  await node.handle(PROTOCOL, ({ stream }) => {
    async function* back(): AsyncGenerator<Uint8Array> {
      for await (const list of stream.source) {
        echoedBytes += list.byteLength;
        yield list.subarray();
      }
    }
    stream.sink(back()).then(resolveDone, resolveDone);
  });
  io.stop.addEventListener("abort", resolveDone);
  const addr = node.getMultiaddrs()[0];
  if (!addr) throw new Error("the libp2p listener has no address");
  io.ready({ addr: addr.toString() });
  await done;
  await stopNode(node);
  return { echoedBytes };
});
