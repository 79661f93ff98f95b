// Role: echo server for round-trip runs. Writes every frame back on the connection it
// came from; frames parsed from one chunk go back in one write.
import { runBenchChild } from "../proc/child.js";
import { FrameReader, FrameWriter } from "../net/frames.js";
import { closed, listen, type Listening } from "../net/endpoints.js";

export interface EchoParams {
  tls: boolean;
}
export type EchoReady = Pick<Listening, "port" | "certPem">;
export interface EchoResult {
  echoed: number;
}

runBenchChild<EchoParams, EchoReady, EchoResult>(async (p, io) => {
  let echoed = 0;
  let resolveDone!: () => void;
  const done = new Promise<void>((res) => (resolveDone = res));
  const listening = await listen(p.tls, (socket) => {
    const writer = new FrameWriter(socket);
    const reader = new FrameReader((frame) => {
      writer.push(frame);
      echoed++;
    });
    socket.on("data", (chunk: Buffer) => {
      reader.push(chunk);
      writer.flush();
    });
    void closed(socket).then(resolveDone);
  });
  io.stop.addEventListener("abort", resolveDone);
  io.ready({ port: listening.port, certPem: listening.certPem });
  await done;
  listening.server.close();
  return { echoed };
});
