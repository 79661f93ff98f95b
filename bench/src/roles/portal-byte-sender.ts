// Role: the bulk TCP client of the portal runs (what iperf3 would be; iperf3 is not used
// here). It writes 64 KiB buffers as fast as the connection takes them, waiting for 'drain',
// until the far end closes or the harness stops it.
import net from "node:net";
import { once } from "node:events";
import { runBenchChild } from "../proc/child.js";
import { HOST, drainedOrClosed } from "../net/endpoints.js";

export interface ByteSenderParams {
  port: number;
}
export interface ByteSenderResult {
  bytes: number;
}

const CHUNK = Buffer.alloc(64 * 1024, 0x5a);

runBenchChild<ByteSenderParams, undefined, ByteSenderResult>(async (p, io) => {
  const socket = net.connect({ port: p.port, host: HOST });
  socket.setNoDelay(true);
  await once(socket, "connect");
  io.ready(undefined);
  let bytes = 0;
  let over = false;
  const finish = (): void => {
    over = true;
    socket.destroy();
  };
  socket.on("error", finish);
  socket.on("close", finish);
  io.stop.addEventListener("abort", finish);
  while (!over) {
    bytes += CHUNK.length;
    // drainedOrClosed removes both its listeners: a race of two once() calls left the loser's
    // ('close' and its 'error') on the socket at every drain, thousands by the end of a run.
    if (!socket.write(CHUNK)) await drainedOrClosed(socket);
  }
  return { bytes };
});
