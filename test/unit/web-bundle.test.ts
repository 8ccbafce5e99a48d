/**
 * The web app's first load stays light: under 100 KB of script, gzipped. Reads the build
 * that `npm test` makes first (pretest); a size, not a timing.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";

const DIST = join(process.cwd(), "packages", "server", "web", "dist");

describe("web bundle", () => {
  it("is built, loads only same-origin files, and its script is under 100 KB gzipped", () => {
    expect(existsSync(join(DIST, "index.html")), "run npm run build first").toBe(true);
    const html = readFileSync(join(DIST, "index.html"), "utf8");
    // No inline script or style: the CSP allows neither.
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/<style|style=/);
    const scripts = [...html.matchAll(/<script[^>]*src="([^"]+)"/g)].map((m) => m[1] as string);
    expect(scripts.length).toBeGreaterThan(0);
    for (const src of scripts) expect(src.startsWith("/")).toBe(true);
    const js = readdirSync(join(DIST, "assets")).filter((f) => f.endsWith(".js"));
    const gzipped = js.reduce((sum, f) => sum + gzipSync(readFileSync(join(DIST, "assets", f))).length, 0);
    expect(gzipped).toBeLessThan(100 * 1024);
  });
});
