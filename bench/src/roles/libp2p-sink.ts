// Role: the listening end of peers/libp2p-throughput. A js-libp2p node (TCP + Noise +
// Yamux) on 127.0.0.1 port 0 accepts one stream and parses the u32-length frames inside
// it; timing as in sink.ts: the window opens warmupMs after the first byte and lasts
// durationMs, sampled per received chunk. At the end it resets the stream, which ends
// the sender.
import { runBenchChild } from "../proc/child.js";
import { FrameWindow, type SinkResult } from "../net/frame-window.js";
import { buffersOf, createNode, PROTOCOL, stopNode, type Libp2pStream } from "./libp2p-node.js";

export interface Libp2pSinkParams {
  warmupMs: number;
  durationMs: number;
  /** Frames that must have arrived before the window opens (warm-count.ts), as in sink.ts. */
  warmMessages?: number;
}
export interface Libp2pSinkReady {
  /** The listener's multiaddr, with its peer id: "/ip4/127.0.0.1/tcp/…/p2p/…". */
  addr: string;
}

runBenchChild<Libp2pSinkParams, Libp2pSinkReady, SinkResult>(async (p, io) => {
  const node = await createNode(true);
  let resolveDone!: (r: SinkResult) => void;
  let rejectDone!: (e: Error) => void;
  const done = new Promise<SinkResult>((res, rej) => ((resolveDone = res), (rejectDone = rej)));

  const consume = async (stream: Libp2pStream): Promise<void> => {
    const window = new FrameWindow(p.warmupMs, p.durationMs, p.warmMessages ?? 0);
    for await (const list of stream.source) {
      for (const chunk of buffersOf(list)) {
        const result = window.push(chunk);
        if (result) {
          resolveDone(result);
          stream.abort(new Error("the measured window is over"));
          return;
        }
      }
    }
    throw new Error("the sender closed the stream before the window ended");
  };

  await node.handle(PROTOCOL, ({ stream }) => {
    consume(stream).catch((e: unknown) => rejectDone(e instanceof Error ? e : new Error(String(e))));
  });
  io.stop.addEventListener("abort", () => rejectDone(new Error("stopped")));
  const addr = node.getMultiaddrs()[0];
  if (!addr) throw new Error("the libp2p listener has no address");
  io.ready({ addr: addr.toString() });
  try {
    return await done;
  } finally {
    await stopNode(node);
  }
});
