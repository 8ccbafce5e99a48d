import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const source = (path: string) => fileURLToPath(new URL(`./packages/${path}`, import.meta.url));

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
    include: ["test/**/*.test.ts", "packages/*/test/**/*.test.ts"],
    reporters: ["default", "./test/helpers/summary-reporter.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Each file in its own process; tests inside a file run in order. Vitest's default is
    // one worker fewer than the CPUs, so on this 2-core machine the files run one at a time
    // (the suites with servers, clusters and Chromium have not been made safe to overlap).
    pool: "forks",
  },
});
