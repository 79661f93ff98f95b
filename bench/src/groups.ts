// Cases that are compared with each other (a baseline and everything measured against it,
// transitively) form a group, and the runner interleaves their repetitions: baseline rep 1,
// dependent rep 1, baseline rep 2, ... On a shared machine a neighbour's burst then lands
// on both sides of a ratio instead of on one of them.
import { baselineNameFor, getScenario, projectParams } from "./scenario.js";
import { caseKey } from "./format.js";
import type { Case } from "./selection.js";

export function groupCases(cases: readonly Case[]): Case[][] {
  const parent = new Map(cases.map((c) => [c.key, c.key]));
  const find = (k: string): string => {
    let root = k;
    while (parent.get(root) !== root) root = parent.get(root)!;
    parent.set(k, root);
    return root;
  };
  for (const c of cases) {
    const name = baselineNameFor(c.scenario, c.params);
    const b = name === undefined ? undefined : getScenario(name);
    if (!b) continue;
    const bKey = caseKey(b.name, projectParams(b, c.params));
    if (parent.has(bKey)) parent.set(find(c.key), find(bKey));
  }
  const groups = new Map<string, Case[]>();
  for (const c of cases) {
    const root = find(c.key);
    groups.set(root, [...(groups.get(root) ?? []), c]);
  }
  // Map insertion follows the first case of each group: plan order is kept.
  return [...groups.values()];
}
