// A thread-loadable worker (plain ESM: worker_threads on Node 20 cannot load .ts) for the tests of
// batches given back to a worker's thread (packages/*/test/lent-bytes.test.ts, runtime's batches-given-back.test.ts).
import { route } from "@hopwire/runtime";
// The thread's own count of batches written into buffers given back (tests load the runtime's tsc output, threads too).
import { batchesGivenBack } from "../../packages/runtime/dist/placement/frames.js";

/**
 * On `{ to, first, count, size, awaitEach }`: sends `count` bytes bodies of `size` bytes along
 * ONE Route (`to`, address strings) from ONE buffer, refilled with `(first + i) & 0xff` as soon
 * as each send returns (a stream: each awaited, or not), scribbled over once all were sent;
 * answers "sent" once every send settled. With `also` (address strings) and `alsoFirst`, every
 * other body goes along that route instead, numbered from `alsoFirst` (two streams, interleaved).
 * On `"reused"`: answers how many batches this thread wrote into buffers given back.
 */
export class ThreadStreamer {
  static module = import.meta.url;
  async handleMessage(ctx, msg) {
    if (msg.body === "reused") return ctx.send(msg.returnRoute, batchesGivenBack.reused);
    const { to, first, count, size, awaitEach, also, alsoFirst } = msg.body;
    const routes = also ? [route(...to), route(...also)] : [route(...to)];
    const next = [first, alsoFirst ?? 0];
    const buffer = new Uint8Array(size);
    const sends = [];
    for (let i = 0; i < count; i++) {
      const k = i % routes.length;
      buffer.fill(next[k]++ & 0xff);
      const sent = ctx.send(routes[k], buffer);
      if (awaitEach) await sent;
      else sends.push(sent);
    }
    buffer.fill(0xee);
    await Promise.all(sends);
    await ctx.send(msg.returnRoute, "sent");
  }
}
