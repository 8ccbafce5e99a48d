#!/usr/bin/env node
// `npm install` runs this (the `prepare` script): it links the project's own command into
// node_modules/.bin, where `npx` looks first, so `npx latchkey` in a clone runs this
// checkout at once. Without the link npx treats the clone as a package to install: it
// copies it into its cache and rebuilds it there (14-35 s), and a first call interrupted
// halfway leaves a cache entry that breaks every later call. node_modules is not tracked,
// so the link leaves the working tree clean.
import { mkdirSync, readlinkSync, rmSync, symlinkSync } from "node:fs";

const link = "node_modules/.bin/latchkey";
const target = "../../bin/latchkey.js";
mkdirSync("node_modules/.bin", { recursive: true });
let current = null;
try {
  current = readlinkSync(link);
} catch {}
if (current !== target) {
  rmSync(link, { force: true });
  symlinkSync(target, link);
}
