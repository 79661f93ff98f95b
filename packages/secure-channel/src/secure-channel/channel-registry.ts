import type { Node } from "@hopwire/runtime";
import type { ChannelEnd } from "./channel-end.js";

const registries = new WeakMap<Node, Set<ChannelEnd>>();

/** Tracks a node's channel ends so that node.stop() closes them (and drops their keys). */
export function trackChannelEnd(node: Node, end: ChannelEnd): void {
  let ends = registries.get(node);
  if (!ends) {
    const set = new Set<ChannelEnd>();
    registries.set(node, (ends = set));
    node.onStop(() => {
      for (const e of [...set]) e.close();
    });
  }
  ends.add(end);
  end.onClosed((e) => ends.delete(e));
}
