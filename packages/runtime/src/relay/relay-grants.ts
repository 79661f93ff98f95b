import type { Address } from "../address/address.js";
import type { FlowControlId, FlowControls } from "../flow-control/flow-controls.js";

/**
 * The consumers relays added to a node's flow controls, counted: two relays that share a
 * previous and a next hop (two names a registrant holds over one connection, used by one
 * initiator) share one grant, and the first to stop must not withdraw it from the other. A
 * consumer the program added before any relay did is not counted, and no relay withdraws it.
 */
const counts = new WeakMap<FlowControls, Map<string, number>>();

/** Lets `flowControlId`'s messages reach `address` for a relay; true if the relay holds a count it must release. */
export function grantForRelay(flowControls: FlowControls, address: Address, flowControlId: FlowControlId): boolean {
  const held = countsOf(flowControls);
  const key = grantKey(address, flowControlId);
  const count = held.get(key);
  if (count === undefined && flowControls.isConsumer(address, flowControlId)) return false; // the program's own
  held.set(key, (count ?? 0) + 1);
  // Also when counted already: the consumer may have gone since (its address unregistered: a
  // reconnecting connection's consumes are forgotten with its old socket), and is granted again.
  if (!flowControls.isConsumer(address, flowControlId)) flowControls.addConsumer(address, flowControlId);
  return true;
}

/** Gives back a count `grantForRelay` returned true for; the last one withdraws the consumer. */
export function releaseForRelay(flowControls: FlowControls, address: Address, flowControlId: FlowControlId): void {
  const held = countsOf(flowControls);
  const key = grantKey(address, flowControlId);
  const count = held.get(key) ?? 0;
  if (count > 1) held.set(key, count - 1);
  else if (held.delete(key)) flowControls.removeConsumer(address, flowControlId);
}

function countsOf(flowControls: FlowControls): Map<string, number> {
  let held = counts.get(flowControls);
  if (held === undefined) counts.set(flowControls, (held = new Map()));
  return held;
}

function grantKey(address: Address, flowControlId: FlowControlId): string {
  return `${flowControlId}\n${address.key}`;
}
