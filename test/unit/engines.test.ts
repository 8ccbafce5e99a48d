/**
 * Audit item 16, and issue 25 item 1: a package said Node >= 20.19 while its dependencies
 * declared Node >= 22, so every install on Node 20 warned (EBADENGINE). Each published
 * package's production closure (its dependencies, theirs, and so on, as the lockfile
 * resolves them) must declare support for every Node version `engines` admits, from the
 * minimum to the current releases. The library and the verifier are held to it without the
 * repository's `overrides`, which a user's install never applies. Packages built for
 * another CPU (WebAssembly fallbacks) are never installed on a real machine and are left out.
 */
import { readFileSync } from "node:fs";
import semver from "semver";
import { describe, expect, it } from "vitest";

const root = new URL("../../", import.meta.url);
const pkg = JSON.parse(readFileSync(new URL("package.json", root), "utf8"));
const lock = JSON.parse(readFileSync(new URL("package-lock.json", root), "utf8"));
type Entry = {
  version?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  engines?: { node?: string };
  cpu?: string[];
};
const packages = lock.packages as Record<string, Entry>;

/** Where node's resolution finds `name` from the package at `from` (a lockfile path). */
function resolve(from: string, name: string): string | null {
  let base = from;
  for (;;) {
    const candidate = `${base ? `${base}/` : ""}node_modules/${name}`;
    if (packages[candidate]) return candidate;
    if (!base) return null;
    const at = base.lastIndexOf("/node_modules/");
    base = at < 0 ? "" : base.slice(0, at);
  }
}

/** The lockfile paths of a workspace package's production closure. */
function closure(workspace: string): Set<string> {
  const seen = new Set<string>();
  const visit = (path: string) => {
    const entry = packages[path] as Entry;
    for (const name of Object.keys({ ...entry.dependencies, ...entry.optionalDependencies })) {
      const found = resolve(path, name);
      if (!found || seen.has(found)) continue;
      if (packages[found]?.cpu?.every((cpu) => cpu.startsWith("wasm"))) continue;
      seen.add(found);
      visit(found);
    }
  };
  visit(workspace);
  return seen;
}

function refusals(paths: Iterable<string>): string[] {
  const minimum = semver.minVersion(pkg.engines.node)?.version as string;
  const refusing: string[] = [];
  for (const path of paths) {
    const range = packages[path]?.engines?.node;
    if (!range) continue;
    for (const version of [minimum, "22.12.0", "24.0.0"]) {
      if (!semver.satisfies(version, range)) refusing.push(`${path} (${range}) refuses ${version}`);
    }
  }
  return refusing;
}

describe("the declared Node support", () => {
  it("admits the Node this suite runs on", () => {
    expect(semver.satisfies(process.versions.node, pkg.engines.node)).toBe(true);
  });

  it("is declared by everything the library and the verifier install, for 20.19 (the minimum), 22 and 24", () => {
    const library = closure("packages/latchkey");
    expect(library.size).toBeGreaterThan(5);
    expect(refusals(library)).toEqual([]);
    const verifier = closure("packages/verify");
    // The verifier installs jose and the SSE parser, and nothing else.
    expect([...verifier].sort()).toEqual(["node_modules/eventsource-parser", "node_modules/jose"]);
    expect(refusals(verifier)).toEqual([]);
  });

  it("issue 25 item 1: needs none of the repository's `overrides` in the library's or the verifier's closure (a user's install never applies them)", () => {
    const overridden = Object.keys(pkg.overrides ?? {});
    expect(overridden.length).toBeGreaterThan(0);
    const reached = [...closure("packages/latchkey"), ...closure("packages/verify")].filter((path) =>
      overridden.some((name) => path === `node_modules/${name}` || path.endsWith(`/node_modules/${name}`)),
    );
    expect(reached).toEqual([]);
  });
});
