// Role: echo server for round-trip runs. Writes every frame back on the connection it
// came from; frames parsed from one chunk go back in one write. With `threadEcho`, each
// frame first goes to a worker_thread and back over the Worker's own port (a structured
// clone each way, as baseline/messageport-rtt posts): the raw floor of a round trip to an
// echo placed on its own thread, read against tcp/one-hop-rtt-thread-echo.
import { Worker } from "node:worker_threads";
import { once } from "node:events";
import { runBenchChild } from "../proc/child.js";
import { FrameReader, FrameWriter } from "../net/frames.js";
import { closed, listen, type Listening } from "../net/endpoints.js";

export interface EchoParams {
  tls: boolean;
  /** Send every frame through a worker_thread and back before writing it. */
  threadEcho?: boolean;
}
export type EchoReady = Pick<Listening, "port" | "certPem">;
export interface EchoResult {
  echoed: number;
  /** Frames that came back from the echo thread (threadEcho), so a run can prove they crossed. */
  threadEchoed: number;
}

runBenchChild<EchoParams, EchoReady, EchoResult>(async (p, io) => {
  let echoed = 0;
  let threadEchoed = 0;
  let resolveDone!: () => void;
  const done = new Promise<void>((res) => (resolveDone = res));
  const thread = p.threadEcho ? new Worker(new URL("./messageport-echo-worker.js", import.meta.url)) : undefined;
  if (thread) await once(thread, "online");
  // The thread answers in the order it was posted to: the writers waiting for its answers, in that order.
  const awaitingThread: FrameWriter[] = [];
  thread?.on("message", (frame: Uint8Array) => {
    const writer = awaitingThread.shift();
    if (!writer) return;
    threadEchoed++;
    writer.push(frame);
    writer.flush();
  });
  const listening = await listen(p.tls, (socket) => {
    const writer = new FrameWriter(socket);
    const reader = new FrameReader((frame) => {
      echoed++;
      if (!thread) return writer.push(frame);
      awaitingThread.push(writer);
      thread.postMessage(frame);
    });
    socket.on("data", (chunk: Buffer) => {
      reader.push(chunk);
      if (!thread) writer.flush();
    });
    void closed(socket).then(resolveDone);
  });
  io.stop.addEventListener("abort", resolveDone);
  io.ready({ port: listening.port, certPem: listening.certPem });
  await done;
  listening.server.close();
  await thread?.terminate();
  return { echoed, threadEchoed };
});
