import { toAddress, type Address, type AddressLike, type Mailbox, type Node, type Route } from "@hopwire/runtime";
import type { ChannelEnd } from "./channel-end.js";

/** A node's channel ends by encryptor address key. */
interface Registry {
  readonly ends: Map<string, ChannelEnd>;
}

const registries = new WeakMap<Node, Registry>();

/**
 * Tracks a node's channel ends so that node.stop() closes them (and drops their keys). A
 * closing end forgets itself (forgetChannelEnd), before its onClosed callbacks: not one of
 * them, which made the listener's ends hold an array of two (≈ 64 B an end).
 */
export function trackChannelEnd(node: Node, end: ChannelEnd): void {
  let registry = registries.get(node);
  if (!registry) {
    const ends = new Map<string, ChannelEnd>();
    registries.set(node, (registry = { ends }));
    node.onStop(() => {
      for (const e of [...ends.values()]) e.close();
    });
  }
  registry.ends.set(end.encryptorAddress.key, end);
}

/** What trackChannelEnd did, undone: `end` closed. Nothing for an end it never tracked. */
export function forgetChannelEnd(node: Node, end: ChannelEnd): void {
  registries.get(node)?.ends.delete(end.encryptorAddress.key);
}

/**
 * The first hop of the route on which the secure channel whose local address is `channel`
 * (its encryptor: the hop local workers route through) reaches its peer, on `node`: e.g.
 * the TCP connection it runs over. Undefined if no channel of `node` is there (any more).
 * A relay that forwards into a channel learns from it which connection its traffic rides on.
 */
export function secureChannelFirstHop(node: Node, channel: AddressLike): Address | undefined {
  const end = registries.get(node)?.ends.get(toAddress(channel).key);
  return end === undefined || end.state === "closed" ? undefined : end.remoteRoute.next();
}

/**
 * The whole route on which the secure channel whose local address is `channel` reaches its
 * peer's end, on `node` (its first hop is `secureChannelFirstHop`'s). A responder's is the
 * handshake's return route: every Hopwire hop on the way put its own address in it, so a route of
 * two (a connection, then the peer's end) says that the peer's end is on the node at the other
 * end of that connection. Undefined if no channel of `node` is there (any more).
 */
export function secureChannelRemoteRoute(node: Node, channel: AddressLike): Route | undefined {
  const end = registries.get(node)?.ends.get(toAddress(channel).key);
  return end === undefined || end.state === "closed" ? undefined : end.remoteRoute;
}

/** Closed channels whose encryptor address still answers with the close reason, per node (oldest first). */
const closedEncryptors = new WeakMap<Node, Address[]>();

/**
 * How many closed channels per node keep answering sends with their close reason
 * (SecureChannelClosedError) before the oldest address is forgotten and a send to it gets the
 * router's UnknownAddressError, as any unknown address does.
 */
export const CLOSED_CHANNEL_MEMORY = 1024;

/** Registers a tombstone at a closed channel's encryptor address: sends to it throw its close reason (made on the first). */
export function rememberClosedEncryptor(node: Node, address: Address, reason: () => Error): void {
  if (node.stopped) return;
  const router = node.router;
  const tombstone: Mailbox = {
    address,
    tombstone: true,
    deliver: () => {
      throw reason();
    },
  };
  try {
    router.register([address], tombstone);
  } catch {
    return; // the address was taken meanwhile: leave it
  }
  let remembered = closedEncryptors.get(node);
  if (!remembered) closedEncryptors.set(node, (remembered = []));
  remembered.push(address);
  if (remembered.length > CLOSED_CHANNEL_MEMORY) router.unregister1(remembered.shift()!);
}

/**
 * Makes the secure channel whose local address is `channel` (its encryptor) on `node` one whose
 * receive credit is shared by many others' traffic: a network hop its peer's records go on to
 * that is full does not hold the channel's credit (ChannelEnd.shareCredit), and a connection that
 * feeds it is told it is full only once it queued its share past the channel's limits (SharedHold,
 * SHARED_HOLD_PER_FEEDER_BYTES). The relay service calls it for each registrant's channel. False if
 * no open channel of `node` is there.
 */
export function shareSecureChannelCredit(node: Node, channel: AddressLike): boolean {
  const end = registries.get(node)?.ends.get(toAddress(channel).key);
  if (end === undefined || end.state === "closed") return false;
  end.shareCredit();
  return true;
}
