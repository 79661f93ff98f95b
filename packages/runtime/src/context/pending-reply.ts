import type { Address } from "../address/address.js";
import { decodeBody, type DecodeBodyOptions } from "../codec/body.js";
import { AbortError, NodeStoppedError, RouteUnavailableError, TimeoutError } from "../errors/errors.js";
import type { LocalMessage } from "../message/local-message.js";
import type { Route } from "../route/route.js";
import type { Router } from "../router/router.js";
import type { Mailbox } from "../router/mailbox.js";
import type { Deadlines, Expiring } from "../util/deadlines.js";
import { onAbort } from "../util/abort-listeners.js";

/**
 * The reply address of one sendAndReceive on the main thread: a mailbox that settles the
 * call with the first reply's body, or with a TimeoutError, an AbortError or the error of
 * its first hop going away — whichever comes first. Settling releases everything at once
 * (the address, the hop watch, the deadline, the abort listener), so a reply costs no
 * further turn of the event loop; a second reply finds no address and is dropped as any
 * late reply is.
 *
 * One object per call holds what a closure-based wait (Inbox + waitFor + setTimeout) spread
 * over a dozen allocations: it is its own mailbox, deadline entry and hop watcher.
 */
export class PendingReply<T> implements Mailbox, Expiring {
  readonly shortLived = true;
  readonly promise: Promise<T>;
  pending = true;
  deadline = Number.POSITIVE_INFINITY;
  #resolve!: (value: T) => void;
  #reject!: (error: unknown) => void;
  #hop: Address | undefined;
  #onHopGone: ((error: Error) => void) | undefined;
  /** Stops waiting for the call's signal (util/abort-listeners.ts). */
  #stopListening: (() => void) | undefined;
  #timeout = 0;
  /** How much of the caller's timeout the request spent waiting for room before it went out. */
  #waitedForRoom = 0;
  /** The request went out (markSent): until then it waits for room in its first hop. */
  #sent = false;

  constructor(
    readonly address: Address,
    readonly router: Router,
    readonly deadlines: Deadlines,
    readonly onward: Route,
    /** What the first hop is when it leads to another node ("connection", "secure channel"), for the timeout's message. */
    readonly via: string | undefined,
    /** How the reply's body is decoded (the call's options: its maxDecodedBytes). */
    readonly decoding: DecodeBodyOptions,
  ) {
    this.promise = new Promise<T>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
  }

  /**
   * Registers the reply address; fails at once (settled) for a signal already aborted. A
   * reply can only come back through `firstHop`: if it goes away, the call fails then, not
   * at its timeout.
   */
  open(firstHop: Address, signal: AbortSignal | undefined): void {
    if (signal?.aborted) {
      this.pending = false;
      this.#reject(new AbortError(`${this.describe()} was aborted`, { cause: signal.reason }));
      return;
    }
    this.router.register1(this.address, this);
    this.#hop = firstHop;
    this.#onHopGone = (error) => this.fail(this.#sent ? error : goneBeforeSent(firstHop, error));
    this.router.watchHop(firstHop, this.#onHopGone);
    if (signal) this.#stopListening = onAbort(signal, () => this.fail(new AbortError(`${this.describe()} was aborted`, { cause: signal.reason })));
  }

  /**
   * Starts the wait for the reply: it fails with a TimeoutError once `timeout` ms (Infinity:
   * never) have passed since the call, of which the request spent `waitedForRoom` waiting to go
   * out. The caller checked the option (checkSendOptions): any other non-finite value
   * would silently mean "no deadline" here.
   */
  startClock(timeout: number, waitedForRoom = 0): void {
    if (!this.pending || timeout === Number.POSITIVE_INFINITY) return;
    this.#timeout = Math.max(0, timeout - waitedForRoom);
    this.#waitedForRoom = waitedForRoom;
    this.deadline = Date.now() + this.#timeout;
    this.deadlines.add(this);
  }

  /**
   * Names the request in its timeout: through a network hop it says so, since a remote node
   * that drops the message (flow controls, no such worker, a handler that threw) never
   * replies and reports it only on its own side.
   */
  describe(): string {
    const what = `sendAndReceive to ${this.onward.toString()}`;
    if (this.via === undefined) return what;
    return (
      `${what} (through the ${this.via} ${this.onward.next().toString()}: a node along the route that drops the message does ` +
      `not reply — its "denied", "dropped" or "handler-error" warnings say why)`
    );
  }

  /** The request was routed (in the same turn: a hop that goes away later went away after it went out). */
  markSent(): void {
    this.#sent = true;
  }

  /** The router delivers the reply: the call resolves with its decoded body. */
  deliver(message: LocalMessage): void {
    if (!this.pending) return;
    this.#release();
    let body: T;
    try {
      body = decodeBody(message.payload, this.decoding) as T;
    } catch (error) {
      this.#reject(error);
      return;
    }
    this.#resolve(body);
  }

  expire(): void {
    // The whole timeout, as the caller gave it: the message once said only what was left after the wait for room.
    const waited = this.#waitedForRoom;
    const spent = waited > 0 ? ` (${waited} ms of it waiting for room on the first hop)` : "";
    this.fail(new TimeoutError(`${this.describe()} timed out after ${this.#timeout + waited} ms${spent}`));
  }

  /** Mailbox.failRequest: this is the call waiting at its own address. */
  failRequest(_key: string, error: Error): void {
    this.fail(error);
  }

  /** Fails the call (once), releasing the address. */
  fail(error: unknown): void {
    if (!this.pending) return;
    this.#release();
    this.#reject(error);
  }

  #release(): void {
    this.pending = false;
    if (this.deadline !== Number.POSITIVE_INFINITY) this.deadlines.settled();
    if (this.#hop) this.router.unwatchHop(this.#hop, this.#onHopGone!);
    this.#stopListening?.();
    this.router.unregister1(this.address);
  }
}

/**
 * Why a request that was still waiting for room failed when its first hop went away: as a
 * plain send waiting there fails, rather than "stopped before a reply arrived", which reads
 * as if it had gone out. The node's stop is the node's NodeStoppedError.
 */
function goneBeforeSent(hop: Address, error: Error): Error {
  if (error.cause instanceof NodeStoppedError) return error.cause;
  return new RouteUnavailableError(`${hop.toString()} went away before the request went out (it waited for room there)`, { cause: error.cause ?? error });
}
