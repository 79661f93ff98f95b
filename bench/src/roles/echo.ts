// Role: echo server for round-trip runs. Writes every frame back on the connection it
// came from; frames parsed from one chunk go back in one write. With `threadEcho`, each
// frame first goes to a worker_thread and back over the Worker's own port (a structured
// clone each way, as baseline/messageport-rtt posts): the raw floor of a round trip to an
// echo placed on its own thread, read against tcp/one-hop-rtt-thread-echo. With `sealed`,
// every frame is an AES-256-GCM record (net/aead-records.ts): opened before it is echoed (or
// handed to the thread), and the answer sealed as a record of its own, as a secure channel's
// responder does for the seed's Echoer (baseline/seed-floor-rtt).
import { Worker } from "node:worker_threads";
import { once } from "node:events";
import { runBenchChild } from "../proc/child.js";
import { FrameReader, FrameWriter } from "../net/frames.js";
import { closed, listen, type Listening } from "../net/endpoints.js";
import { RecordOpener, RecordSealer, recordKeys } from "../net/aead-records.js";

export interface EchoParams {
  tls: boolean;
  /** Send every frame through a worker_thread and back before writing it. */
  threadEcho?: boolean;
  /** Frames are records: open each, echo its plaintext sealed (see the header). */
  sealed?: boolean;
}
export type EchoReady = Pick<Listening, "port" | "certPem"> & {
  /** With `sealed`: the key of the client's records, then the key of the echo's answers (hex). */
  keys?: [string, string];
};
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
  // One key each way, one channel each: the answer of a record is a record of its own.
  const keys = p.sealed ? (recordKeys(2) as [string, string]) : undefined;
  const opener = keys ? new RecordOpener([keys[0]]) : undefined;
  const sealer = keys ? new RecordSealer([keys[1]]) : undefined;
  const answer = (frame: Uint8Array): Uint8Array => (sealer ? sealer.seal(0, frame) : frame);
  /** After an answer's write: the next record's ciphers, made while the client works (a channel's spare ciphers). */
  const prepareNext = (): void => {
    sealer?.prepare(0);
    opener?.prepare(0);
  };
  thread?.on("message", (frame: Uint8Array) => {
    const writer = awaitingThread.shift();
    if (!writer) return;
    threadEchoed++;
    writer.push(answer(frame));
    writer.flush();
    prepareNext();
  });
  const listening = await listen(p.tls, (socket) => {
    const writer = new FrameWriter(socket);
    const reader = new FrameReader((frame) => {
      echoed++;
      const body = opener ? opener.open(frame) : frame;
      if (!thread) return writer.push(answer(body));
      awaitingThread.push(writer);
      thread.postMessage(body);
    });
    socket.on("data", (chunk: Buffer) => {
      reader.push(chunk);
      if (thread) return;
      writer.flush();
      prepareNext();
    });
    void closed(socket).then(resolveDone);
  });
  io.stop.addEventListener("abort", resolveDone);
  io.ready({ port: listening.port, certPem: listening.certPem, ...(keys ? { keys } : {}) });
  await done;
  listening.server.close();
  await thread?.terminate();
  return { echoed, threadEchoed };
});
