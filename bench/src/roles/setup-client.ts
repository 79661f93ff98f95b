// Role: the client of the connection-setup runs. One connection at a time: stamp the wall
// clock, connect to `port` (an inlet, a tunnel, or the target itself), write the stamp as
// the first 8 bytes, wait until the far end closes, repeat until stopped.
import net from "node:net";
import { once } from "node:events";
import { performance } from "node:perf_hooks";
import { runBenchChild } from "../proc/child.js";
import { HOST } from "../net/endpoints.js";

const wallClock = (): number => performance.timeOrigin + performance.now();

runBenchChild<{ port: number }, undefined, { connections: number }>(async (p, io) => {
  io.ready(undefined);
  let connections = 0;
  while (!io.stop.aborted) {
    const stamp = Buffer.allocUnsafe(8);
    stamp.writeDoubleBE(wallClock(), 0);
    const socket = net.connect({ port: p.port, host: HOST });
    socket.setNoDelay(true);
    socket.on("error", () => {});
    socket.write(stamp);
    socket.resume();
    await Promise.race([once(socket, "close"), once(io.stop, "abort")]);
    socket.destroy();
    connections++;
  }
  return { connections };
});
