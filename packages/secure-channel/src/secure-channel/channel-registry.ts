import type { Address, Mailbox, Node } from "@hopwire/runtime";
import type { ChannelEnd } from "./channel-end.js";

/** A node's open channel ends, and the one callback that forgets each as it closes (not a closure per end). */
interface Registry {
  readonly ends: Set<ChannelEnd>;
  readonly forget: (end: ChannelEnd) => void;
}

const registries = new WeakMap<Node, Registry>();

/** Tracks a node's channel ends so that node.stop() closes them (and drops their keys). */
export function trackChannelEnd(node: Node, end: ChannelEnd): void {
  let registry = registries.get(node);
  if (!registry) {
    const ends = new Set<ChannelEnd>();
    registries.set(node, (registry = { ends, forget: (e) => ends.delete(e) }));
    node.onStop(() => {
      for (const e of [...ends]) e.close();
    });
  }
  registry.ends.add(end);
  end.onClosed(registry.forget);
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
