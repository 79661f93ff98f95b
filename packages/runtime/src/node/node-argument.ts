import { InvalidOptionError } from "../errors/errors.js";
import { describeType } from "../util/describe-type.js";
import { Node } from "./node.js";

/** How a public function that takes a node names itself in errors. */
export interface NodeArgumentName {
  /** The public function, as the caller wrote it: "createInlet". */
  readonly what: string;
  /** The argument: "node" unless said otherwise. */
  readonly argument?: string;
  /** What runs on the node's main thread, for a worker's context passed instead: "secure channels". */
  readonly runs?: string;
}

/**
 * A Node, or a Node of another copy of the runtime (two versions installed), which works
 * the same: what the node-taking functions use of it.
 */
export function looksLikeNode(value: unknown): boolean {
  if (value instanceof Node) return true;
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.startWorker === "function" && typeof v.onStop === "function" && typeof v.router === "object" && v.router !== null;
}

/**
 * Checks that `value`, given to a public function as its node, is a Node, and throws an
 * InvalidOptionError that says what was passed instead otherwise: nothing, a Promise
 * (`node()` not awaited), a worker's context (which can start workers but is not the node),
 * or "a number" and the like. For libraries that take a node from their users, so that a
 * bad one fails at the call with a clear error rather than a TypeError inside.
 */
export function assertNodeArgument(value: unknown, name: NodeArgumentName): asserts value is Node {
  if (looksLikeNode(value)) return;
  const argument = name.argument ?? "node";
  const fail = (problem: string) => new InvalidOptionError(`${name.what}: ${problem}`, { option: argument });
  if (value === undefined || value === null) throw fail(`${argument} is ${String(value)}; pass the node (from \`await node()\`)`);
  if (typeof (value as { then?: unknown }).then === "function") throw fail(`${argument} is a Promise; await it first (\`await node()\`)`);
  if (typeof value === "object" && typeof (value as { startWorker?: unknown }).startWorker === "function") {
    throw fail(`${argument} is a worker's context, not the node; ${name.runs ?? "they"} run on the node's main thread: pass the Node (from \`await node()\`)`);
  }
  throw fail(`${argument} must be a Node (from \`await node()\`), got ${describeType(value)}`);
}
