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
  let held = counts.get(flowControls);
  const key = grantKey(address, flowControlId);
  const count = held?.get(key);
  if (count !== undefined) {
    held!.set(key, count + 1);
    // The consumer may have gone since it was granted (its address unregistered: a reconnecting
    // connection's consumes are forgotten with its old socket): granted again, as addConsumer did.
    if (!flowControls.isConsumer(address, flowControlId)) flowControls.addConsumer(address, flowControlId);
    return true;
  }
  if (flowControls.isConsumer(address, flowControlId)) return false;
  flowControls.addConsumer(address, flowControlId);
  if (held === undefined) counts.set(flowControls, (held = new Map()));
  held.set(key, 1);
  return true;
}

/** Gives back a count `grantForRelay` returned true for; the last one withdraws the consumer. */
export function releaseForRelay(flowControls: FlowControls, address: Address, flowControlId: FlowControlId): void {
  const held = counts.get(flowControls);
  const key = grantKey(address, flowControlId);
  const count = held?.get(key);
  if (count === undefined) return;
  if (count > 1) {
    held!.set(key, count - 1);
    return;
  }
  held!.delete(key);
  flowControls.removeConsumer(address, flowControlId);
}

function grantKey(address: Address, flowControlId: FlowControlId): string {
  return `${flowControlId}\n${address.key}`;
}
