import { isIdentifier, type Identifier } from "@hopwire/secure-channel";
import { describeValue, InvalidOptionError } from "@hopwire/runtime";

/**
 * Decides whether the authenticated identity `identifier` may register the relay `name`.
 * It runs once per registration (not per forwarded message).
 */
export type RelayPolicy = (name: string, identifier: Identifier) => boolean | Promise<boolean>;

/** The name in {@link allowRegistrations} rules that stands for every name. */
export const ANY_RELAY_NAME = "*";

/**
 * A policy from a table of names to the identifiers allowed to register them, e.g.
 * `{ bob: ["I3f…"], "*": ["I9a…"] }`: the rule `"*"` applies to every name that has no rule
 * of its own (above, only I3f… may register bob: a wildcard never takes a named rule's name).
 */
export function allowRegistrations(rules: Readonly<Record<string, readonly (Identifier | string)[]>>): RelayPolicy {
  if (rules === null || typeof rules !== "object") throw new InvalidOptionError(`relay registration rules must be an object such as { bob: ["I3f…"] }, got ${describeValue(rules)}`, { option: "rules" });
  const table = new Map<string, Set<string>>();
  for (const [name, identifiers] of Object.entries(rules)) {
    if (!Array.isArray(identifiers)) throw new InvalidOptionError(`the rule for "${name}" must be a list of identifiers, got ${describeValue(identifiers)}`, { option: `rules.${name}` });
    for (const id of identifiers) {
      if (!isIdentifier(id)) throw new InvalidOptionError(`the rule for "${name}" has an invalid identifier: ${describeValue(id)}`, { option: `rules.${name}` });
    }
    table.set(name, new Set(identifiers));
  }
  return (name, identifier) => (table.get(name) ?? table.get(ANY_RELAY_NAME))?.has(identifier) === true;
}

/**
 * Lets any authenticated identity register any name (demos and closed networks only: a
 * later registrant of a name replaces the earlier one).
 */
export function allowAnyIdentity(): RelayPolicy {
  return () => true;
}
