#!/usr/bin/env node
// The `latchkey` command: the compiled CLI (built by `npm install`, see package.json).
import { existsSync } from "node:fs";

if (!existsSync(new URL("../dist/cli/main.js", import.meta.url))) {
  process.stderr.write("latchkey is not built yet: run `npm run build` (npm install does it)\n");
  process.exit(2);
}
await import("../dist/cli/main.js");
