import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const source = (path: string) => fileURLToPath(new URL(`./packages/${path}`, import.meta.url));

/**
 * The files that start no server process, browser, cluster or benchmark and share no
 * database: each runs against in-memory stores inside its own worker, so two of them can
 * run at once. Everything else (Chromium, nginx clusters, PostgreSQL and Redis, the CLI's
 * processes, the benchmarks) runs one file at a time, after them.
 */
const SELF_CONTAINED = [
  "test/unit/**/*.test.ts",
  "test/http/**/*.test.ts",
  "test/app/**/*.test.ts",
  "packages/*/test/**/*.test.ts",
];

export default defineConfig({
  resolve: {
    // A package's name means its sources in the tests, as it does in the type check: one
    // copy of each module, whichever path imports it (a test that imports the library's
    // files and the server's would otherwise hold two `AuthError` classes).
    alias: [
      { find: /^latchkey$/, replacement: source("latchkey/src/index.ts") },
      { find: /^latchkey\/([a-z]+)$/, replacement: source("latchkey/src/$1.ts") },
      { find: /^@latchkey\/verify$/, replacement: source("verify/src/index.ts") },
      { find: /^@latchkey\/verify\/([a-z]+)$/, replacement: source("verify/src/$1.ts") },
    ],
  },
  test: {
    reporters: ["default", "./test/helpers/summary-reporter.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Each file in its own process; tests inside a file run in order.
    pool: "forks",
    projects: [
      {
        extends: true,
        test: { name: "self-contained", include: SELF_CONTAINED, maxWorkers: 2, sequence: { groupOrder: 0 } },
      },
      {
        extends: true,
        test: {
          name: "one at a time",
          include: ["test/**/*.test.ts"],
          exclude: SELF_CONTAINED,
          maxWorkers: 1,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
