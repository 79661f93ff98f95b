import { assertNodeArgument, NodeStoppedError, type Node } from "@hopwire/runtime";
import { InvalidOptionError } from "../errors.js";
import { isIdentityLike, optionName, type ArgumentName } from "../identity/identity-argument.js";

/**
 * Checks that `value`, given to a public function as its node, is a Node, and throws an
 * InvalidOptionError naming the function otherwise: an identity (arguments swapped) here,
 * the rest as the runtime's assertNodeArgument says (nothing, a Promise, a worker's context).
 */
export function assertNode(value: unknown, name: ArgumentName): asserts value is Node {
  if (isIdentityLike(value)) {
    const argument = name.argument ?? "node";
    throw new InvalidOptionError(`${name.what}: got an identity where the node goes${name.usage ? `; the arguments are ${name.usage}` : ""}`, {
      option: optionName(argument),
    });
  }
  assertNodeArgument(value, { what: name.what, argument: name.argument, runs: "secure channels" });
}

/** assertNode, and a NodeStoppedError for a node that has stopped (as its own send and startWorker give). */
export function assertRunningNode(value: unknown, name: ArgumentName): asserts value is Node {
  assertNode(value, name);
  if (value.stopped) throw new NodeStoppedError(`${name.what}: the node has stopped`);
}
