// The order test files start in: vitest's own (failed first, then longest first by the last
// run's durations, kept in node_modules/.vite), except that the longest files below start
// first whatever the cache says, e.g. on a fresh clone: the slow consumer's 30 s are mostly
// waiting and the other files fill the other workers beside them, instead of one of them
// running alone at the end.
import { BaseSequencer, type TestSpecification } from "vitest/node";

const FIRST = ["test/flow-slow-consumer.test.ts", "test/flow-multiprocess.test.ts", "test/cli.test.ts"];

export class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rank = (spec: TestSpecification): number => {
      const i = FIRST.findIndex((path) => spec.moduleId.endsWith(`/${path}`));
      return i < 0 ? FIRST.length : i;
    };
    return sorted.map((spec, i) => ({ spec, i })).sort((a, b) => rank(a.spec) - rank(b.spec) || a.i - b.i).map(({ spec }) => spec);
  }
}
