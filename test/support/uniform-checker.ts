import type { Context, Mailbox, Node, Route, Routed } from "@hopwire/runtime";
// The counter the main thread keeps (tests load the runtime's tsc output, as ThreadStreamer does).
import { batchesGivenBack } from "../../packages/runtime/dist/placement/frames.js";
import { ThreadStreamer } from "./thread-streamer.js";

/**
 * A worker (placed "main") for tests of bodies a sender reuses: counts bytes bodies, and the
 * bad ones — a body whose bytes are not all `i & 0xff` for the i-th body, one not `size`
 * bytes long, or a payload that does not decode as a bytes body — and says when a count is reached.
 */
export class UniformChecker {
  count = 0;
  bad = 0;
  /** The length every body must have (the sender sets it before each size). */
  size = 0;
  #waiting: { count: number; resolve: () => void } | undefined;

  handleMessage(_ctx: Context, msg: Routed<Uint8Array>): void {
    const want = this.count & 0xff;
    this.count++;
    let body: Uint8Array;
    try {
      body = msg.body;
    } catch {
      body = Uint8Array.of(~want & 0xff);
    }
    if (body.length !== this.size) body = Uint8Array.of(~want & 0xff);
    for (let j = 0; j < body.length; j++) {
      if (body[j] !== want) {
        this.bad++;
        break;
      }
    }
    if (this.#waiting !== undefined && this.count >= this.#waiting.count) this.#waiting.resolve();
  }

  /** Resolves once `count` bodies have arrived. */
  reached(count: number): Promise<void> {
    if (this.count >= count) return Promise.resolve();
    return new Promise((resolve) => (this.#waiting = { count, resolve }));
  }
}

/** What `sendReusingOneBuffer` saw: bodies checked, and how many sends were lent to the first hop. */
export interface ReusedSends {
  /** Per size: the checker's { count, bad } once every body of that size arrived. */
  reports: { count: number; bad: number }[];
  /** Sends made while the first hop had room (awaited sends only: nothing of the sender waited). */
  lendable: number;
  /** Sends that went through the first hop's `deliverBytes` (lent, copied there). */
  lent: number;
}

/**
 * Sends `count` bytes bodies of each size in `sizes` to `to` from ONE buffer per size, refilled
 * with `i & 0xff` as soon as each send returns (and scribbled over once all were sent), each
 * send awaited or not; counts the sends that `firstHop` (the mailbox of the route's first hop)
 * took through its `deliverBytes`, and waits for `checker` to see each size's bodies.
 */
export async function sendReusingOneBuffer(
  send: (to: Route, body: Uint8Array) => Promise<void>,
  to: Route,
  firstHop: Mailbox,
  checker: UniformChecker,
  o: { sizes: number[]; count: number; awaitEach: boolean },
): Promise<ReusedSends> {
  let lent = 0;
  const deliverBytes = firstHop.deliverBytes!.bind(firstHop);
  Object.defineProperty(firstHop, "deliverBytes", { value: (...args: Parameters<typeof deliverBytes>) => (lent++, deliverBytes(...args)) });
  const reports: { count: number; bad: number }[] = [];
  let expected = 0;
  let lendable = 0;
  for (const size of o.sizes) {
    checker.size = size;
    const buffer = new Uint8Array(size);
    const sends: Promise<void>[] = [];
    for (let i = 0; i < o.count; i++) {
      buffer.fill((expected + i) & 0xff);
      if (o.awaitEach && !firstHop.isFull) lendable++;
      const sent = send(to, buffer);
      if (o.awaitEach) await sent;
      else sends.push(sent);
    }
    buffer.fill(0xee);
    await Promise.all(sends);
    expected += o.count;
    await checker.reached(expected);
    reports.push({ count: checker.count, bad: checker.bad });
  }
  return { reports, lendable, lent };
}

/**
 * Starts a ThreadStreamer at "streamer", on its own thread, and has it send `count` bodies of
 * each size along `to` into `checker`, a size at a time. Returns the checker's { count, bad }
 * per size, how many batches the main thread gave back to threads meanwhile (`givenBack`), and
 * how many of its batches the streamer's thread wrote into buffers given back (`reused`).
 */
export async function streamFromThread(
  n: Node,
  to: Route,
  checker: UniformChecker,
  o: { sizes: number[]; count: number; awaitEach: boolean },
): Promise<{ reports: { count: number; bad: number }[]; givenBack: number; reused: number }> {
  await n.startWorker("streamer", ThreadStreamer, { placement: "thread" });
  const before = batchesGivenBack.batches;
  const reports: { count: number; bad: number }[] = [];
  let first = 0;
  for (const size of o.sizes) {
    checker.size = size;
    const body = { to: to.addresses.map((a) => a.toString()), first, count: o.count, size, awaitEach: o.awaitEach };
    await n.sendAndReceive("streamer", body, { timeout: 120_000 });
    first += o.count;
    await checker.reached(first);
    reports.push({ count: checker.count, bad: checker.bad });
  }
  const givenBack = batchesGivenBack.batches - before;
  return { reports, givenBack, reused: await n.sendAndReceive<number>("streamer", "reused") };
}
