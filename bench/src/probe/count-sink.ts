// A counting sink that a node can place on a thread (relay-cpu.ts --sink-thread): it counts
// data messages and answers a short control message with its count. This module must not
// start anything: a worker thread imports it.
import type { Context, Routed, Worker } from "@hopwire/runtime";

/** Payloads this short are control messages ("count?"), never data (the probe sends ≥ 64 B). */
const CONTROL_MAX = 16;

export class CountSink implements Worker {
  static readonly module = import.meta.url;
  count = 0;

  handleMessage(ctx: Context, msg: Routed): Promise<void> | void {
    if (msg.payload.length > CONTROL_MAX) {
      this.count++;
      return;
    }
    return ctx.send(msg.returnRoute, this.count);
  }
}
