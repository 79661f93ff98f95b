// Role: a plain TCP proxy, the cheapest possible middle hop: for each accepted connection
// it connects to the target and pipes bytes both ways without parsing them. It is what a
// Hopwire relay (which must parse frames and rewrite routes) is compared with.
import net from "node:net";
import { runBenchChild } from "../proc/child.js";
import { HOST, closed, listen } from "../net/endpoints.js";

export interface ProxyParams {
  targetPort: number;
}
export interface ProxyReady {
  port: number;
}
export interface ProxyResult {
  connections: number;
}

runBenchChild<ProxyParams, ProxyReady, ProxyResult>(async (p, io) => {
  let connections = 0;
  let resolveDone!: () => void;
  const done = new Promise<void>((res) => (resolveDone = res));
  const listening = await listen(false, (downstream) => {
    connections++;
    const upstream = net.connect({ port: p.targetPort, host: HOST });
    upstream.setNoDelay(true);
    downstream.pipe(upstream).pipe(downstream);
    // Either side closing ends the pair; the run is over once the client's pair is gone.
    void Promise.race([closed(downstream), closed(upstream)]).then(() => {
      downstream.destroy();
      upstream.destroy();
      resolveDone();
    });
  });
  io.stop.addEventListener("abort", resolveDone);
  io.ready({ port: listening.port });
  await done;
  listening.server.close();
  return { connections };
});
