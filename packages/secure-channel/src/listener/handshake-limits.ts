import { InvalidOptionError } from "@hopwire/runtime";

/**
 * Bounds on the handshakes a listener has begun and not finished. Each pending handshake
 * holds a responder end (its addresses, keys, a timer) until message 3 or the handshake
 * timeout, so a flood of first messages must cost a bounded amount, and one connection must
 * not be able to take every slot (see docs/secure-channels.md, "Handshake limits").
 */
export interface HandshakeLimits {
  /** Pending handshakes of the whole listener (default 4096). */
  readonly maxPending: number;
  /** Pending handshakes that arrived over one connection (default 64). */
  readonly maxPendingPerConnection: number;
  /** Handshakes one connection may begin per second, in a token bucket of one second's worth (default 100). */
  readonly startsPerSecondPerConnection: number;
  /** REFUSED notices sent back over one connection per second; past it refusals are silent (default 10). */
  readonly refusalsPerSecondPerConnection: number;
}

export const DEFAULT_HANDSHAKE_LIMITS: HandshakeLimits = Object.freeze({
  maxPending: 4096,
  maxPendingPerConnection: 64,
  startsPerSecondPerConnection: 100,
  refusalsPerSecondPerConnection: 10,
});

export function validateHandshakeLimits(limits: Partial<HandshakeLimits>): HandshakeLimits {
  const resolved = { ...DEFAULT_HANDSHAKE_LIMITS, ...limits };
  for (const key of Object.keys(DEFAULT_HANDSHAKE_LIMITS) as (keyof HandshakeLimits)[]) {
    const v = resolved[key];
    const min = key === "refusalsPerSecondPerConnection" ? 0 : 1;
    if (!Number.isSafeInteger(v) || v < min) throw new InvalidOptionError(`handshakeLimits.${key} must be an integer of at least ${min}; got ${String(v)}`);
  }
  if (resolved.maxPendingPerConnection > resolved.maxPending) {
    throw new InvalidOptionError("handshakeLimits.maxPendingPerConnection must not exceed handshakeLimits.maxPending");
  }
  return Object.freeze(resolved);
}

/** A token bucket holding at most one second's worth of `perSecond` tokens. */
class TokenBucket {
  #tokens: number;
  #at: number;

  constructor(readonly perSecond: number, now: number) {
    this.#tokens = perSecond;
    this.#at = now;
  }

  take(now: number): boolean {
    this.#refill(now);
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  isFull(now: number): boolean {
    this.#refill(now);
    return this.#tokens >= this.perSecond;
  }

  #refill(now: number): void {
    this.#tokens = Math.min(this.perSecond, this.#tokens + ((now - this.#at) * this.perSecond) / 1000);
    this.#at = now;
  }
}

/** One connection's share: its pending handshakes (oldest first) and its two rate limits. */
interface ConnectionShare<T> {
  readonly pending: Set<T>;
  readonly starts: TokenBucket;
  readonly refusals: TokenBucket;
  readonly key: string;
  unwatch: () => void;
}

/** The verdict on a first handshake message; when admitted into a full listener, which handshake (of which connection) gives up its slot. */
export type Admission<T> =
  | { readonly admitted: true; readonly evict?: { readonly item: T; readonly connection: string } }
  | { readonly admitted: false; readonly why: "connection-full" | "rate-limited" | "listener-full" };

/**
 * The listener's pending-handshake slots, shared fairly between connections. When the listener
 * is full, a handshake from a connection holding at least two fewer slots than the greediest one
 * takes the oldest slot of that one (fair share, as a fair queue drops from its longest flow),
 * so a flood from one connection, or from many, never locks out a connection that has few.
 */
export class HandshakeSlots<T> {
  readonly #shares = new Map<string, ConnectionShare<T>>();
  #pending = 0;

  constructor(readonly limits: HandshakeLimits) {}

  get pending(): number {
    return this.#pending;
  }

  get connections(): number {
    return this.#shares.size;
  }

  /** Decides whether a first handshake message from `key` may start a handshake now. */
  admit(key: string, now: number, watch: () => () => void): Admission<T> {
    const limits = this.limits;
    const share = this.#shares.get(key) ?? this.#newShare(key, now, watch);
    const mine = share.pending.size;
    if (mine >= limits.maxPendingPerConnection) return { admitted: false, why: "connection-full" };
    if (!share.starts.take(now)) return { admitted: false, why: "rate-limited" };
    if (this.#pending < limits.maxPending) return { admitted: true };
    const greediest = this.#greediest();
    if (greediest === undefined || greediest.pending.size < mine + 2) return { admitted: false, why: "listener-full" };
    const item = greediest.pending.values().next().value as T;
    this.#remove(greediest, item);
    return { admitted: true, evict: { item, connection: greediest.key } };
  }

  add(key: string, item: T): void {
    const share = this.#shares.get(key);
    if (!share) return;
    share.pending.add(item);
    this.#pending++;
  }

  /** Frees the slot of a finished (or failed) handshake; a second call is a no-op. */
  release(key: string, item: T): void {
    const share = this.#shares.get(key);
    if (share) this.#remove(share, item);
  }

  /** True if a REFUSED notice may go back over this connection now. */
  mayRefuse(key: string, now: number): boolean {
    return this.#shares.get(key)?.refusals.take(now) ?? false;
  }

  /** The connection went away: forgets its share and returns its pending handshakes, to be dropped. */
  dropConnection(key: string): T[] {
    const share = this.#shares.get(key);
    if (!share) return [];
    this.#shares.delete(key);
    share.unwatch();
    const items = [...share.pending];
    this.#pending -= items.length;
    return items;
  }

  /** Forgets connections with nothing pending whose limits are back to full (their state says nothing then). */
  prune(now: number): void {
    for (const [key, share] of this.#shares) {
      if (share.pending.size === 0 && share.starts.isFull(now) && share.refusals.isFull(now)) {
        this.#shares.delete(key);
        share.unwatch();
      }
    }
  }

  clear(): void {
    for (const share of this.#shares.values()) share.unwatch();
    this.#shares.clear();
    this.#pending = 0;
  }

  #newShare(key: string, now: number, watch: () => () => void): ConnectionShare<T> {
    const share: ConnectionShare<T> = {
      pending: new Set(),
      starts: new TokenBucket(this.limits.startsPerSecondPerConnection, now),
      refusals: new TokenBucket(this.limits.refusalsPerSecondPerConnection, now),
      key,
      unwatch: () => {},
    };
    this.#shares.set(key, share);
    share.unwatch = watch();
    return share;
  }

  #remove(share: ConnectionShare<T>, item: T): void {
    if (share.pending.delete(item)) this.#pending--;
  }

  /** The connection holding the most slots (scanned only when the listener is full). */
  #greediest(): ConnectionShare<T> | undefined {
    let best: ConnectionShare<T> | undefined;
    for (const share of this.#shares.values()) if (!best || share.pending.size > best.pending.size) best = share;
    return best;
  }
}
