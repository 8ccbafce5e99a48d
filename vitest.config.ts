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
    // Files run in parallel on both cores; tests inside a file run in order.
    pool: "forks",
  },
});
