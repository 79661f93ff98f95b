// Workers for throughput.mjs (thread- and pool-loadable, so plain ESM JavaScript).

/** Counts messages; "report" answers with the count. */
export class Counter {
  static module = import.meta.url;
  count = 0;
  async handleMessage(ctx, msg) {
    if (msg.payload.length < 16 && msg.body === "report") await ctx.send(msg.returnRoute, this.count);
    else this.count++;
  }
}

/** Replies with the payload it got, as is (no decoding). */
export class Echoer {
  static module = import.meta.url;
  async handleMessage(ctx, msg) {
    await ctx.forward(msg.message.withOnwardRoute(msg.returnRoute).withReturnRoute(msg.onwardRoute));
  }
}

/** On { count, to, perTurn }: sends `count` 64-byte payloads to `to`, `perTurn` a turn, then replies with `to`'s count. */
export class Blaster {
  static module = import.meta.url;
  async handleMessage(ctx, msg) {
    const { count, to, perTurn } = msg.body;
    const payload = new Uint8Array(62);
    for (let i = 0; i < count; ) {
      for (let k = 0; k < perTurn && i < count; k++, i++) void ctx.send(to, payload);
      await new Promise((resolve) => setImmediate(resolve));
    }
    await ctx.send(msg.returnRoute, await ctx.sendAndReceive(to, "report"));
  }
}
