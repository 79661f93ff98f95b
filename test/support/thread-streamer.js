// A thread-loadable worker (plain ESM: worker_threads on Node 20 cannot load .ts) for the tests of
// batches given back to a worker's thread (packages/*/test/batches-given-back.test.ts).
import { route } from "@hopwire/runtime";

/**
 * On `{ to, first, count, size, awaitEach }`: sends `count` bytes bodies of `size` bytes along
 * ONE Route (`to`, address strings) from ONE buffer, refilled with `(first + i) & 0xff` as soon
 * as each send returns (a stream: each awaited, or not), scribbled over once all were sent;
 * answers "sent" once every send settled.
 */
export class ThreadStreamer {
  static module = import.meta.url;
  async handleMessage(ctx, msg) {
    const { to, first, count, size, awaitEach } = msg.body;
    const along = route(...to);
    const buffer = new Uint8Array(size);
    const sends = [];
    for (let i = 0; i < count; i++) {
      buffer.fill((first + i) & 0xff);
      const sent = ctx.send(along, buffer);
      if (awaitEach) await sent;
      else sends.push(sent);
    }
    buffer.fill(0xee);
    await Promise.all(sends);
    await ctx.send(msg.returnRoute, "sent");
  }
}
