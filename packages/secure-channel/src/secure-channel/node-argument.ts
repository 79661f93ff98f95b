import { Node } from "@hopwire/runtime";
import { InvalidOptionError } from "../errors.js";
import { describeValue, isIdentityLike, looksLikeNode, optionName, type ArgumentName } from "../identity/identity-argument.js";

/**
 * Checks that `value`, given to a public function as its node, is a Node, and throws an
 * InvalidOptionError naming the function otherwise: nothing, an identity (arguments
 * swapped), a worker's context (secure channels live on the node's main thread), a Promise
 * (`node()` not awaited), or "a number" and the like.
 */
export function assertNode(value: unknown, name: ArgumentName): asserts value is Node {
  if (value instanceof Node || looksLikeNode(value)) return; // a Node of another copy of the runtime works the same
  const argument = name.argument ?? "node";
  const fail = (problem: string) => new InvalidOptionError(`${name.what}: ${problem}`, { option: optionName(argument) });
  if (value === undefined || value === null) throw fail(`${argument} is ${String(value)}; pass the node (from \`await node()\`)`);
  if (isIdentityLike(value)) throw fail(`got an identity where the node goes${name.usage ? `; the arguments are ${name.usage}` : ""}`);
  if (typeof (value as { then?: unknown }).then === "function") throw fail(`${argument} is a Promise; await it first (\`await node()\`)`);
  if (typeof value === "object" && typeof (value as { startWorker?: unknown }).startWorker === "function") {
    throw fail(`${argument} is a worker's context, not the node; secure channels run on the node's main thread: pass the Node (from \`await node()\`)`);
  }
  throw fail(`${argument} must be a Node (from \`await node()\`), got ${describeValue(value)}`);
}
