#!/usr/bin/env node
// `npm start` runs this first: it builds the packages and the web app when a build is
// missing or older than its sources, so `npm install && npm start` always serves the
// current code (and a plain `npm start` after pulling changes rebuilds what changed).
import { execSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

const newest = (dir) => {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return latest;
};
const stale = (output, ...sources) =>
  !existsSync(output) || statSync(output).mtimeMs < Math.max(...sources.map((s) => (existsSync(s) ? newest(s) : 0)));

const packages = ["verify", "latchkey", "client", "server"].map((name) => `packages/${name}`);
if (
  packages.some((dir) => stale(`${dir}/dist/.tsbuildinfo`, `${dir}/src`)) ||
  !existsSync("packages/server/dist/cli/main.js")
)
  execSync("npm run -s build:server", { stdio: "inherit" });
const web = "packages/server/web";
if (stale(`${web}/dist/index.html`, `${web}/src`, `${web}/public`))
  execSync("npm run -s build:web", { stdio: "inherit" });
