/**
 * Audit item 16: package.json said Node >= 20.19 while two production dependencies
 * declared Node >= 22. Every package a production install brings (per the lockfile) must
 * declare support for every Node version latchkey's `engines` admits, from its minimum to
 * the current releases. (`overrides` in package.json keep cookie and content-disposition
 * on their releases that still declare Node 20.)
 */
import { readFileSync } from "node:fs";
import semver from "semver";
import { describe, expect, it } from "vitest";

const root = new URL("../../", import.meta.url);
const pkg = JSON.parse(readFileSync(new URL("package.json", root), "utf8"));
const lock = JSON.parse(readFileSync(new URL("package-lock.json", root), "utf8"));

describe("the declared Node support", () => {
  it("admits the Node this suite runs on", () => {
    expect(semver.satisfies(process.versions.node, pkg.engines.node)).toBe(true);
  });

  it("is declared by every production dependency, for 20.19 (the minimum), 22 and 24", () => {
    const minimum = semver.minVersion(pkg.engines.node)?.version as string;
    const refusing: string[] = [];
    for (const [path, entry] of Object.entries<{ dev?: boolean; engines?: { node?: string } }>(lock.packages)) {
      const range = entry.engines?.node;
      if (path === "" || entry.dev || !range) continue;
      for (const version of [minimum, "22.12.0", "24.0.0"]) {
        if (!semver.satisfies(version, range)) refusing.push(`${path} (${range}) refuses ${version}`);
      }
    }
    expect(refusing).toEqual([]);
  });
});
