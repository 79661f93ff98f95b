import type { KeptHeadsBudget, Node } from "@hopwire/runtime";

/**
 * What the envelope heads one channel end keeps from its peer may cost (the runtime's
 * keptHeadCost estimate), besides the last: its decoder keeps up to 16 heads the peer repeats
 * (CHANNEL_RECENT_HEADS), and 16 heads of up to 1 KiB estimated fit: an ordinary head (a
 * worker's name onward, a worker's address back: ≈ 50 bytes, 0.6-0.7 KiB estimated), and a
 * relay node's registrant channel's, one per initiator (2 + 3 hops of random addresses, ≈ 120
 * bytes, 0.9 KiB: at 12 KiB only 13 fitted, and 14-16 initiators alternating lost the fast path). Before this bound a channel's were
 * bounded by the decoder's default (1 MiB): a peer's 16 heads of 1 KiB kept ≈ 65 KiB per
 * channel (≈ 50 KiB of heap and 16 KiB of arena, measured), on each of a listener's 16,384.
 */
export const CHANNEL_KEPT_HEAD_BYTES = 16 * 1024;

/**
 * What one head may cost (keptHeadCost) to be kept by a channel end at all: held as its last
 * head for its repeats, kept among its recent ones, or kept as the head of what it sends. A
 * costlier one (a peer's route of many hops or long addresses, up to 64 KiB of them) is
 * decoded, or encoded, afresh each time and let go of once its record is read or its message
 * queued. Before this bound, the last head a peer sent stayed with its channel: 255 addresses
 * of 244 characters held ≈ 80 KiB of heap per idle channel, and an answer along such a return
 * route ≈ 64 KiB more (the encoded head kept for the next answer).
 */
export const CHANNEL_MAX_HEAD_COST = 2 * 1024;

/**
 * What the heads all of a node's channel ends keep may cost together (keptHeadCost): 16 MiB.
 * CHANNEL_KEPT_HEAD_BYTES bounds each, but a listener holds up to 16,384 channels (256 MiB at
 * that bound). Past it, channel ends keep no new heads (they decode them in full each time, as
 * one-off heads) until others give theirs back by closing.
 */
export const CHANNEL_KEPT_HEADS_BUDGET = 16 * 1024 * 1024;

const budgets = new WeakMap<Node, KeptHeadsBudget>();

/** The budget that `node`'s channel ends' kept heads share (made on first use). */
export function channelKeptHeadsOf(node: Node): KeptHeadsBudget {
  let budget = budgets.get(node);
  if (budget === undefined) budgets.set(node, (budget = { held: 0, max: CHANNEL_KEPT_HEADS_BUDGET }));
  return budget;
}

/** What the heads `node`'s channel ends keep for their peers' repeats cost now, as estimated (bounded by CHANNEL_KEPT_HEADS_BUDGET). */
export function channelKeptHeadBytes(node: Node): number {
  return budgets.get(node)?.held ?? 0;
}
