import { checkOptionKeys, describeValue, InvalidOptionError, orDefault, TokenBucket, type Route } from "@hopwire/runtime";

/**
 * Bounds on the handshakes a listener has not finished. A started handshake holds a responder
 * end (its addresses, keys, a timer) until message 3 or the handshake timeout and cost a key
 * generation and two DH operations, so a flood of first messages must cost a bounded amount,
 * and no connection may take every slot or all of the work (see docs/secure-channels.md,
 * "Handshake limits").
 */
export interface HandshakeLimits {
  /** Started, unfinished handshakes of the whole listener (default 4096). */
  readonly maxPending: number;
  /** Started, unfinished handshakes that came in over one connection (default 1024: a quarter of the listener). */
  readonly maxPendingPerConnection: number;
  /** First messages of one connection waiting for their turn to start (default 1024); past it they are dropped. */
  readonly maxQueuedPerConnection: number;
  /**
   * What those waiting first messages of one connection may hold, in bytes (default 1 MiB: room
   * for 1024 with return routes of up to five hops); past it they are dropped. Each is charged
   * 289 bytes, and 64 bytes plus two a character for each address of its return route
   * (docs/secure-channels.md, "Handshake limits"): its payload is 33 bytes, but its return route
   * is the peer's to make (as long as a frame allows), and it is kept until the handshake starts.
   */
  readonly maxQueuedBytesPerConnection: number;
  /** REFUSED notices sent back over one connection per second; past it refusals are silent (default 10). */
  readonly refusalsPerSecondPerConnection: number;
}

/** The listener's handshake limits when none are given (docs/secure-channels.md, "Handshake limits"). */
export const DEFAULT_HANDSHAKE_LIMITS: HandshakeLimits = Object.freeze({
  maxPending: 4096,
  maxPendingPerConnection: 1024,
  maxQueuedPerConnection: 1024,
  maxQueuedBytesPerConnection: 1024 * 1024,
  refusalsPerSecondPerConnection: 10,
});

/** A queued first message's own cost, besides its payload and route: its record, the payload's buffer objects, the route's. */
export const QUEUED_FIRST_MESSAGE_OVERHEAD = 256;
/** An address's own cost in a queued return route, besides its value's characters: the Address, its string's header, the route's slot. */
export const QUEUED_ADDRESS_OVERHEAD = 64;

/**
 * What a first message waiting in its connection's queue is charged against
 * `maxQueuedBytesPerConnection`: an estimate of the memory it holds (its payload, and its return
 * route, which is all the handshake needs of it later), from the route's length and its
 * addresses' values, at two bytes a character (V8's wider string form), so that a route the
 * peer made long or wide is charged at least what it holds. O(hops), no scan of the values.
 */
export function queuedFirstMessageBytes(returnRoute: Route, payloadLength: number): number {
  let bytes = QUEUED_FIRST_MESSAGE_OVERHEAD + payloadLength;
  for (let i = 0; i < returnRoute.length; i++) bytes += QUEUED_ADDRESS_OVERHEAD + 2 * returnRoute.at(i)!.value.length;
  return bytes;
}

export function validateHandshakeLimits(limits: Partial<HandshakeLimits>): HandshakeLimits {
  // First: a misspelt key would otherwise leave its limit at the default without a word.
  checkOptionKeys(limits, Object.keys(DEFAULT_HANDSHAKE_LIMITS), "handshakeLimits", "handshakeLimits");
  // Key by key, not a spread: a key given as undefined overwrote its default and was refused.
  const resolved = { ...DEFAULT_HANDSHAKE_LIMITS };
  for (const key of Object.keys(DEFAULT_HANDSHAKE_LIMITS) as (keyof HandshakeLimits)[]) {
    const v = orDefault(limits[key], DEFAULT_HANDSHAKE_LIMITS[key]);
    const min = key === "refusalsPerSecondPerConnection" ? 0 : 1;
    if (!Number.isSafeInteger(v) || v < min) {
      throw new InvalidOptionError(`handshakeLimits.${key} must be an integer of at least ${min}; got ${describeValue(v)}`, { option: `handshakeLimits.${key}` });
    }
    resolved[key] = v;
  }
  if (resolved.maxPendingPerConnection > resolved.maxPending) {
    throw new InvalidOptionError("handshakeLimits.maxPendingPerConnection must not exceed handshakeLimits.maxPending", {
      option: "handshakeLimits.maxPendingPerConnection",
    });
  }
  return Object.freeze(resolved);
}

/**
 * One peer's part of a connection's share (see HandshakeSlots: several peers come through one
 * secure channel to a relay node): its waiting first messages and started handshakes. It exists
 * only while it holds one or the other.
 */
interface PeerShare<T, M> {
  readonly key: string;
  readonly queue: M[];
  readonly pending: Set<T>;
}

/**
 * One connection's share: its started handshakes (oldest first), its waiting first messages
 * (their count and bytes; the messages themselves are its peers'), its peers with messages
 * waiting (in round-robin order), and its refusal budget.
 */
interface ConnectionShare<T, M> {
  readonly key: string;
  readonly pending: Set<T>;
  queued: number;
  queuedBytes: number;
  readonly peers: Map<string, PeerShare<T, M>>;
  readonly readyPeers: Set<PeerShare<T, M>>;
  /** The peer of each started handshake. */
  readonly peerOf: Map<T, PeerShare<T, M>>;
  readonly refusals: TokenBucket;
  unwatch: () => void;
}

/**
 * The next first message to start, and which started handshake (of which connection) gives up
 * its slot for it, if any; or, with `refused`, a first message taken off its queue to be
 * refused without starting (its connection or the listener is at a channel limit).
 */
export interface HandshakeStart<T, M> {
  readonly connection: string;
  /** The peer behind the connection it came from (see HandshakeSlots), for `add`. */
  readonly peer: string;
  readonly message: M;
  readonly evict?: { readonly item: T; readonly connection: string };
  readonly refused?: true;
}

/**
 * The listener's handshake slots, shared fairly between connections, as a fair queue shares a
 * link between flows. First messages wait in their connection's queue; the listener starts them
 * round-robin, one per connection per round, so a connection that sends a thousand first
 * messages gets no more turns than one that sends one, and a busy node serves every connection
 * in turn. A connection holds at most `maxPendingPerConnection` started handshakes; when the
 * listener holds `maxPending`, a connection with at least two started handshakes fewer than the
 * greediest one takes that one's oldest slot. So neither a flood from one connection nor one
 * from many locks out a connection that has few.
 *
 * Inside a connection's share, the same between the peers behind it (`peerOf` a message: the
 * initiator's own connection at a relay node, for a node behind a relay, whose relayed
 * handshakes all come through its one channel to the relay node; one peer for a plain
 * connection): its messages start round-robin over its peers; when its queue is full, the peer
 * with the most waiting gives up its newest for a peer with fewer (longest queue drops,
 * counted in `displaced`); and when it holds `maxPendingPerConnection`, a peer with two started
 * handshakes fewer than its greediest peer takes that one's oldest slot. The share's bounds
 * stay those of one connection, so peers made up by whoever writes the return routes (the
 * relay node, any channel peer) cost no more memory than one connection; an adversarial trial
 * (session 44) had one raw connection flooding `forward_to_bob` at a relay node time out every
 * honest handshake through it, when the peers behind one channel shared one queue.
 */
export class HandshakeSlots<T, M> {
  readonly #shares = new Map<string, ConnectionShare<T, M>>();
  /** Shares with queued messages, in round-robin order: a share served moves to the back. */
  readonly #ready = new Set<ConnectionShare<T, M>>();
  #pending = 0;
  #queued = 0;
  #queuedBytes = 0;
  /** Queued first messages dropped for another peer's behind the same connection (see above). */
  displaced = 0;

  /**
   * `sizeOf` is what a queued message is charged against `maxQueuedBytesPerConnection` (the
   * listener's: queuedFirstMessageBytes); `peerOf` the peer behind its connection it came from.
   */
  constructor(
    readonly limits: HandshakeLimits,
    private readonly sizeOf: (message: M) => number = () => 0,
    private readonly peerOf: (message: M) => string = () => "",
  ) {}

  /** Started, unfinished handshakes. */
  get pending(): number {
    return this.#pending;
  }

  /** First messages waiting for their turn. */
  get queued(): number {
    return this.#queued;
  }

  /** What the first messages waiting for their turn are charged, in bytes (see `sizeOf`). */
  get queuedBytes(): number {
    return this.#queuedBytes;
  }

  /** What the first messages of connection `key` waiting for their turn are charged, in bytes. */
  queuedBytesOf(key: string): number {
    return this.#shares.get(key)?.queuedBytes ?? 0;
  }

  get connections(): number {
    return this.#shares.size;
  }

  /**
   * Queues a first message from connection `key`; false if its queue is full, in messages or
   * bytes, and no peer behind the connection holds more than this message's peer would (the
   * message is dropped).
   */
  offer(key: string, message: M, now: number, watch: () => () => void): boolean {
    const share = this.#shares.get(key) ?? this.#newShare(key, now, watch);
    const peerKey = this.peerOf(message);
    const bytes = this.sizeOf(message);
    const held = share.peers.get(peerKey)?.queue.length ?? 0;
    if (this.#isFull(share.queued, share.queuedBytes, bytes)) {
      // Longest queue drops: a peer holding more than this one would gives up its newest, as
      // many as make room, if that is possible (worked out first: nothing is dropped for a refusal).
      // The connection's peer with the most waiting first messages.
      const greediest = most(share.readyPeers, queuedCount);
      if (greediest === undefined || greediest.key === peerKey) return false;
      const queue = greediest.queue;
      let count = 0;
      let freed = 0;
      while (queue.length - count > held + 1 && this.#isFull(share.queued - count, share.queuedBytes - freed, bytes)) {
        freed += this.sizeOf(queue[queue.length - 1 - count]!);
        count++;
      }
      if (count === 0 || this.#isFull(share.queued - count, share.queuedBytes - freed, bytes)) return false;
      for (let i = 0; i < count; i++) this.#dropNewest(share, greediest);
      this.displaced += count;
    }
    const peer = share.peers.get(peerKey) ?? this.#newPeer(share, peerKey);
    peer.queue.push(message);
    share.queued++;
    share.queuedBytes += bytes;
    this.#queuedBytes += bytes;
    this.#queued++;
    share.readyPeers.add(peer);
    this.#ready.add(share);
    return true;
  }

  /**
   * Whether a connection's queue holding `queued` messages of `queuedBytes` may not take one
   * more of `bytes`. The first in an empty queue is taken whatever it is charged: else a bound
   * set below one message's charge (validation allows 1) refused every handshake as busy.
   */
  #isFull(queued: number, queuedBytes: number, bytes: number): boolean {
    const overBytes = queued > 0 && queuedBytes + bytes > this.limits.maxQueuedBytesPerConnection;
    return queued >= this.limits.maxQueuedPerConnection || overBytes;
  }

  /**
   * The next first message to start, round-robin over connections; undefined if none may
   * start now. A connection for which `refuse(key)` is true (it is at a channel limit) gives
   * its next message up to be refused instead (`refused`), without taking a slot from anyone,
   * unless a peer behind it with two started handshakes fewer than its greediest peer takes
   * that one's oldest (`evict`), which leaves the connection's count as it was.
   */
  next(refuse?: (key: string) => boolean): HandshakeStart<T, M> | undefined {
    for (const share of this.#ready) {
      let peer = share.readyPeers.values().next().value as PeerShare<T, M>;
      // At its connection's bound (its started handshakes, or a channel limit): a peer with two
      // fewer than the connection's greediest peer starts in place of that one's oldest, which
      // leaves the connection's count as it was; else it waits for a slot, or is refused.
      const atPending = share.pending.size >= this.limits.maxPendingPerConnection;
      const atLimit = !atPending && refuse?.(share.key) === true;
      let inner: T | undefined;
      if (atPending || atLimit) {
        const greediest = most(share.peers.values(), pendingCount);
        const fewer = greediest === undefined ? undefined : this.#fewerThan(share, greediest.pending.size - 1);
        if (fewer !== undefined) {
          peer = fewer;
          inner = greediest!.pending.values().next().value as T;
        } else if (atPending) continue;
        else return { connection: share.key, peer: peer.key, message: this.#take(share, peer), refused: true };
      }
      let evict: HandshakeStart<T, M>["evict"];
      if (inner !== undefined) {
        this.#remove(share, inner);
        evict = { item: inner, connection: share.key };
      } else if (this.#pending >= this.limits.maxPending) {
        // The connection holding the most started handshakes (scanned only when the listener is full).
        const greediest = most(this.#shares.values(), pendingCount);
        if (greediest === undefined || greediest.pending.size < share.pending.size + 2) continue;
        const item = greediest.pending.values().next().value as T;
        this.#remove(greediest, item);
        evict = { item, connection: greediest.key };
      }
      const message = this.#take(share, peer);
      return evict ? { connection: share.key, peer: peer.key, message, evict } : { connection: share.key, peer: peer.key, message };
    }
    return undefined;
  }

  /** Takes `peer`'s first queued message; the peer goes to the back of its share's round, and the share to the back of the listener's. */
  #take(share: ConnectionShare<T, M>, peer: PeerShare<T, M>): M {
    const message = peer.queue.shift()!;
    const bytes = this.sizeOf(message);
    share.queued--;
    share.queuedBytes -= bytes;
    this.#queuedBytes -= bytes;
    this.#queued--;
    share.readyPeers.delete(peer);
    if (peer.queue.length > 0) share.readyPeers.add(peer); // to the back of the share's round
    else this.#forgetIfIdle(share, peer);
    this.#ready.delete(share);
    if (share.queued > 0) this.#ready.add(share); // to the back of the round
    return message;
  }

  /** Drops the newest queued message of `peer` (longest queue drops, see offer). */
  #dropNewest(share: ConnectionShare<T, M>, peer: PeerShare<T, M>): void {
    const bytes = this.sizeOf(peer.queue.pop()!);
    share.queued--;
    share.queuedBytes -= bytes;
    this.#queuedBytes -= bytes;
    this.#queued--;
    if (peer.queue.length === 0) share.readyPeers.delete(peer);
    this.#forgetIfIdle(share, peer);
  }

  #newPeer(share: ConnectionShare<T, M>, key: string): PeerShare<T, M> {
    const peer: PeerShare<T, M> = { key, queue: [], pending: new Set() };
    share.peers.set(key, peer);
    return peer;
  }

  /** A peer with nothing queued or started says nothing: forgotten, so that peers made up cost nothing once their messages are gone. */
  #forgetIfIdle(share: ConnectionShare<T, M>, peer: PeerShare<T, M>): void {
    if (peer.queue.length === 0 && peer.pending.size === 0 && share.peers.get(peer.key) === peer) share.peers.delete(peer.key);
  }


  /** The first of the connection's peers with messages waiting, in round-robin order, that holds fewer than `bound` started handshakes. */
  #fewerThan(share: ConnectionShare<T, M>, bound: number): PeerShare<T, M> | undefined {
    for (const peer of share.readyPeers) if (peer.pending.size < bound) return peer;
    return undefined;
  }


  /** Started, unfinished handshakes of connection `key`. */
  pendingOf(key: string): number {
    return this.#shares.get(key)?.pending.size ?? 0;
  }

  /** A handshake of connection `key` started, for its `peer` (HandshakeStart.peer). */
  add(key: string, item: T, peer = ""): void {
    const share = this.#shares.get(key);
    if (!share) return;
    const of = share.peers.get(peer) ?? this.#newPeer(share, peer);
    of.pending.add(item);
    share.peerOf.set(item, of);
    share.pending.add(item);
    this.#pending++;
  }

  /** Frees the slot of a finished (or failed) handshake; a second call is a no-op. */
  release(key: string, item: T): void {
    const share = this.#shares.get(key);
    if (share) this.#remove(share, item);
  }

  /**
   * True if a REFUSED notice may go back over this connection now, to `peer` behind it. With
   * `watch`, a connection the slots do not know yet gets its share (and its refusal budget)
   * first. The budget is the connection's; behind one connection (a relay's peers), a peer
   * holding two or more (queued and started) takes only from its upper half, so that a flooding
   * peer does not spend what a new or light peer would be refused with (it would wait out its
   * handshake timeout instead of failing at once).
   */
  mayRefuse(key: string, now: number, watch?: () => () => void, peer = ""): boolean {
    const share = this.#shares.get(key) ?? (watch === undefined ? undefined : this.#newShare(key, now, watch));
    if (share === undefined) return false;
    if (peer === "") return share.refusals.take(now);
    const own = share.peers.get(peer);
    const held = own === undefined ? 0 : own.queue.length + own.pending.size;
    return held >= 2 ? share.refusals.takeAbove(now, share.refusals.perSecond / 2) : share.refusals.take(now);
  }

  /** The connection went away: forgets its share and queue, and returns its started handshakes, to be dropped. */
  dropConnection(key: string): T[] {
    const share = this.#shares.get(key);
    if (!share) return [];
    this.#shares.delete(key);
    this.#ready.delete(share);
    share.unwatch();
    this.#queued -= share.queued;
    this.#queuedBytes -= share.queuedBytes;
    share.queued = 0;
    share.queuedBytes = 0;
    share.peers.clear();
    share.readyPeers.clear();
    share.peerOf.clear();
    const items = [...share.pending];
    this.#pending -= items.length;
    return items;
  }

  /** Forgets connections with nothing started or queued whose refusal budget is full again (their state says nothing then). */
  prune(now: number): void {
    for (const [key, share] of this.#shares) {
      if (share.pending.size === 0 && share.queued === 0 && share.refusals.isFull(now)) {
        this.#shares.delete(key);
        share.unwatch();
      }
    }
  }

  clear(): void {
    for (const share of this.#shares.values()) share.unwatch();
    this.#shares.clear();
    this.#ready.clear();
    this.#pending = 0;
    this.#queued = 0;
    this.#queuedBytes = 0;
  }

  #newShare(key: string, now: number, watch: () => () => void): ConnectionShare<T, M> {
    const share: ConnectionShare<T, M> = {
      key,
      pending: new Set(),
      queued: 0,
      queuedBytes: 0,
      peers: new Map(),
      readyPeers: new Set(),
      peerOf: new Map(),
      refusals: new TokenBucket(this.limits.refusalsPerSecondPerConnection, now),
      unwatch: () => {},
    };
    this.#shares.set(key, share);
    share.unwatch = watch();
    return share;
  }

  #remove(share: ConnectionShare<T, M>, item: T): void {
    if (!share.pending.delete(item)) return;
    this.#pending--;
    const peer = share.peerOf.get(item);
    share.peerOf.delete(item);
    if (peer === undefined) return;
    peer.pending.delete(item);
    this.#forgetIfIdle(share, peer);
  }

}

/** The item of `items` with the most of `size` (the first of equals), if any: the greediest connection or peer. */
function most<I>(items: Iterable<I>, size: (item: I) => number): I | undefined {
  let best: I | undefined;
  let bestSize = -1;
  for (const item of items) {
    const s = size(item);
    if (s > bestSize) {
      best = item;
      bestSize = s;
    }
  }
  return best;
}

const queuedCount = (peer: { readonly queue: readonly unknown[] }): number => peer.queue.length;
const pendingCount = (holder: { readonly pending: ReadonlySet<unknown> }): number => holder.pending.size;
