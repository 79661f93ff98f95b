import { assertNodeArgument, type Node } from "@hopwire/runtime";
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
