// The js-libp2p stack the peers/ scenarios measure: TCP, Noise (@chainsafe/libp2p-noise)
// and Yamux (@chainsafe/libp2p-yamux), nothing else: no identify, no ping, no discovery,
// no connection monitor. One listener on 127.0.0.1 port 0, one dialer, one stream.
//
// Versions (bench devDependencies, pinned exactly): libp2p 2.8.8, @libp2p/tcp 10.1.19,
// noise 16.1.5, yamux 7.0.4. libp2p 3 does not run on Node 20: @libp2p/utils 7, yamux 8
// and noise 17 call Promise.withResolvers (Node ≥ 22), and an inbound upgrade fails with
// "EncryptionFailedError: Promise.withResolvers is not a function". In libp2p 2, the
// newest mortice (3.3.x, via @libp2p/peer-store ≥ 11.2.3) pulls it-queue, which does the
// same when a connection closes; so @libp2p/peer-store 11.2.2 and mortice 3.1.0 are pinned
// too, and libp2p 2.8.8 is the newest 2.x that accepts that peer store.
import { createLibp2p, type Libp2p } from "libp2p";
import { tcp } from "@libp2p/tcp";
import { noise } from "@chainsafe/libp2p-noise";
import { yamux } from "@chainsafe/libp2p-yamux";

export const PROTOCOL = "/hopwire-bench/1.0.0";
export type Libp2pStream = Awaited<ReturnType<Libp2p["dialProtocol"]>>;

export function createNode(listen: boolean): Promise<Libp2p> {
  return createLibp2p({
    addresses: { listen: listen ? ["/ip4/127.0.0.1/tcp/0"] : [] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionMonitor: { enabled: false },
  });
}

/** node.stop(), bounded: a peer that is already gone must not hold the process's result back. */
export async function stopNode(node: Libp2p, ms = 1000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([Promise.resolve(node.stop()).catch(() => {}), new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

/** The chunks of a Uint8ArrayList as Buffers, without copying (what FrameReader takes). */
export function* buffersOf(list: Iterable<Uint8Array> | Uint8Array): Generator<Buffer> {
  if (list instanceof Uint8Array) {
    yield Buffer.from(list.buffer, list.byteOffset, list.byteLength);
    return;
  }
  for (const u8 of list) yield Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength);
}
