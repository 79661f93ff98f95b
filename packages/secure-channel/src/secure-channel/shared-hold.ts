import type { MailboxBound, Route } from "@hopwire/runtime";

/**
 * What the encryptor of a channel whose credit is shared (a relay service's registrant channel,
 * shareSecureChannelCredit) keeps taking from each feeder while its queue is full: 16 MiB, four
 * channels' default receive windows (4 MiB each), so that an initiator whose channels to a stalled
 * registrant honour their credit stops on that credit before its connection is paused (which would
 * stop its channels to every other registrant: docs/secure-channels.md, "Credit").
 */
export const SHARED_HOLD_PER_FEEDER_BYTES = 16 * 1024 * 1024;
/** See SHARED_HOLD_PER_FEEDER_BYTES: all feeders of one such channel together. */
export const SHARED_HOLD_BYTES = 64 * 1024 * 1024;
/**
 * How long, as a share of the channel's peer timeout (10 s of the default 30 s), such a channel
 * may hold records past its limits, with a feeder paused, while it passes none on to its peer (no
 * record sealed: the peer granted no credit, or its connection took nothing) before it is closed
 * (SecureChannelPeerStalledError): a feeder past its share is paused meanwhile, and with it
 * its other channels (an initiator's to other registrants), and a registrant that reads nothing
 * but still writes its heartbeats would otherwise keep it so for as long as it stays connected.
 */
export const SHARED_HOLD_STALL_SHARE = 1 / 3;

/**
 * The count behind that hold: bytes taken per feeder (the first hop of a message's return route:
 * the connection it was read from, as receivers put their sender first) and in all, from when the
 * queue was seen full until it has room again (its bound's onRoom: under half its limits, so by
 * then what was held past them has gone out). `full` answers for the feeder that delivered last:
 * the connection that asks `isFull` right after routing a record here (a local sender asks before
 * routing, and gets the last feeder's answer, or all feeders' once `total` is reached). Nothing is
 * ever refused or dropped here: a feeder past its share is told the mailbox is full, and pauses, as
 * every feeder did before. Memory past the queue's own limits: at most `total`, and one socket read
 * (64 KiB) per feeder that a pausing connection still delivers.
 */
export class SharedHold {
  readonly #perFeeder = new Map<string, number>();
  #total = 0;
  #last = "";
  #cancel: (() => void) | undefined;
  #pausing = false;

  constructor(
    readonly bound: MailboxBound,
    readonly perFeeder: number,
    readonly total: number,
    /** Whether the node's channels hold half their send-queue budget or more: then nothing more is held for anyone. */
    readonly spent: () => boolean,
    /**
     * Called when the hold first pauses a feeder (a feeder past its share, all of them past the total, or a spent
     * budget, told so while bytes are held past the queue's limits) since the queue last had room: the channel's stall
     * clock starts. A hold that pauses nobody holds nobody up, and a registrant that merely reads slowly keeps its channel.
     */
    readonly onPause: () => void = () => {},
  ) {}

  /**
   * A message was queued that grew the queue by `bytes` as its bound counts them (routes and
   * framing too, not only the payload: a peer picks both, and tiny payloads along large return
   * routes would otherwise pass the share unseen): counted for its feeder if the queue is full now
   * (and its room awaited, once). A queue that shrank meanwhile (sealed at once) counts nothing.
   */
  took(returnRoute: Route, bytes: number): void {
    this.#last = returnRoute.isEmpty ? "" : returnRoute.next().key;
    if (!this.bound.isFull || bytes <= 0) return;
    this.#perFeeder.set(this.#last, (this.#perFeeder.get(this.#last) ?? 0) + bytes);
    this.#total += bytes;
    this.#cancel ??= this.bound.onRoom(() => this.reset());
  }

  /**
   * Whether the last feeder (or all together) took its share while the queue was full: it must
   * wait. Answering yes while holding is what pauses it, so it starts the pause (onPause), once
   * per hold: a method, not a getter, for that.
   */
  feederMustWait(): boolean {
    const full = this.#total >= this.total || (this.#perFeeder.get(this.#last) ?? 0) >= this.perFeeder || this.spent();
    // Told full while holding: that feeder pauses (see onPause), once per hold.
    if (full && this.#total > 0 && !this.#pausing) {
      this.#pausing = true;
      this.onPause();
    }
    return full;
  }

  /** Whether the hold paused a feeder since the queue last had room (the channel's stall clock runs). */
  get pausing(): boolean {
    return this.#pausing;
  }

  /** Bytes held past the queue's limits now, as counted (tests). */
  get held(): number {
    return this.#total;
  }

  reset(): void {
    const cancel = this.#cancel;
    this.#cancel = undefined;
    this.#perFeeder.clear();
    this.#total = 0;
    this.#pausing = false;
    cancel?.();
  }
}
