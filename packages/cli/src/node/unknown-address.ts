// What a configured node says about a message from the network for an address it does not
// have, in the configuration's terms: what it has under which names, which setting of the
// sender names the address, and when the message can only be this node's own, sent back.
import { FORWARDER_PREFIX } from "@hopwire/relay";
import type { NodeConfig } from "../config/schema.js";

/** Why nothing took a message for `address` on the node `config` describes (`address` as shown, cut short). */
export function whatIsNamed(address: string, config: NodeConfig): string {
  if (address.startsWith(FORWARDER_PREFIX)) {
    const name = address.slice(FORWARDER_PREFIX.length);
    if (config.relayService) {
      return `no relay is registered as "${name}" on this node: the node that should register it is not connected, or the sender (--via ${name}@…, inlets[].relay) names the wrong relay`;
    }
    // Only this node's inlets name such an address, and they send it to a relay node.
    if (config.inlets?.some((i) => i.relay !== undefined)) {
      return `this node runs no relay service: a message for "${address}" here is one of its own inlets' (--via ${name}@…, inlets[].relay) come back. ${echoHint("--via host:port, inlets[].relay's connection")}`;
    }
  }
  const own = ownName(address, config);
  if (own !== undefined) {
    // Configured, and yet not there: not started yet, or stopped.
    const prefix = `"${address}" is this node's ${own}, which was not running when the message came:`;
    if (!config.relays?.length) return `${prefix} it had not started, or had stopped.`;
    return (
      `${prefix} it starts once the node's relay registrations are done (--relay, relays[]). ` +
      `Before it starts, only this node's own messages can name it, come back. ${echoHint("--relay, relays[].at")}`
    );
  }
  const names = [
    `outlets: ${config.outlets?.map((o) => o.address).join(", ") || "none"}`,
    `secure channel listeners: ${config.secureChannelListeners?.map((l) => l.address).join(", ") || "none"}`,
    ...(config.relayService ? [`relay service: ${config.relayService.address}`] : []),
  ];
  return `nothing on this node is called "${address}" (${names.join("; ")}): the sender names the wrong outlet (--outlet, inlets[].outlet) or listener (inlets[].listener)`;
}

/** The question for an operator whose relay address may be wrong: `where` names the setting. */
const echoHint = (where: string): string => `Is the node at the relay's address (${where}) a Hopwire relay node, or a service that sends back what it gets?`;

/** What the configuration starts under `address`, if anything. */
function ownName(address: string, config: NodeConfig): string | undefined {
  if (config.outlets?.some((o) => o.address === address)) return "outlet";
  if (config.secureChannelListeners?.some((l) => l.address === address)) return "secure channel listener";
  if (config.relayService?.address === address) return "relay service";
  return undefined;
}
