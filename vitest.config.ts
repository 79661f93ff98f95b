import { defineConfig } from "vitest/config";

// Tests import packages through their compiled dist (npm test builds first), so that
// worker_threads load the same JavaScript the tests exercise.
export default defineConfig({
  test: {
    include: ["packages/*/test/**/*.test.ts", "test/**/*.test.ts", "examples/test/**/*.test.ts", "bench/test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: "forks",
  },
});
