// What the probes count per message or round trip with --count: calls of the scheduling
// primitives, promises made, MessagePort posts and socket writes and reads, in this thread.
// The wrappers cost CPU: CPU figures of a --count run are not comparable with others.
import net from "node:net";
import { promiseHooks } from "node:v8";
import { MessagePort, Worker as ThreadWorker } from "node:worker_threads";

export type Counts = Record<string, number>;

/** The counts so far (reset by emptying it). */
export const counts: Counts = {};

const bump = (k: string): void => {
  counts[k] = (counts[k] ?? 0) + 1;
};

/** Wraps each counted primitive (once per thread). */
export function installCounters(): void {
  const g = globalThis as unknown as Record<string, (...a: unknown[]) => unknown>;
  for (const name of ["setTimeout", "clearTimeout", "setImmediate", "queueMicrotask", "setInterval"]) {
    const original = g[name]!;
    g[name] = function (this: unknown, ...args: unknown[]) {
      bump(name);
      return original.apply(this, args);
    };
  }
  const tick = process.nextTick;
  process.nextTick = ((...args: Parameters<typeof process.nextTick>) => {
    bump("nextTick");
    return tick(...args);
  }) as typeof process.nextTick;
  const post = MessagePort.prototype.postMessage;
  MessagePort.prototype.postMessage = function (this: MessagePort, ...args: Parameters<MessagePort["postMessage"]>) {
    bump("port.postMessage");
    return post.apply(this, args);
  };
  const workerPost = ThreadWorker.prototype.postMessage;
  ThreadWorker.prototype.postMessage = function (this: ThreadWorker, ...args: Parameters<ThreadWorker["postMessage"]>) {
    bump("worker.postMessage");
    return workerPost.apply(this, args);
  };
  promiseHooks.onInit(() => bump("promise"));
  const write = net.Socket.prototype.write;
  net.Socket.prototype.write = function (this: net.Socket, ...args: unknown[]) {
    bump("socket.write");
    return (write as (...a: unknown[]) => boolean).apply(this, args);
  } as typeof write;
  const emit = net.Socket.prototype.emit;
  net.Socket.prototype.emit = function (this: net.Socket, event: string | symbol, ...args: unknown[]) {
    if (event === "data") bump("socket.data");
    return (emit as (...a: unknown[]) => boolean).call(this, event, ...args);
  } as typeof emit;
}
