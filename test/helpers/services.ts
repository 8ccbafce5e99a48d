/**
 * Suites that need something outside Node (Chromium, PostgreSQL, Redis, nginx) run when it
 * is there and are skipped when it is not, unless LATCHKEY_REQUIRE_SERVICES=1 (CI), which
 * turns a missing service into a failing test.
 */
import { existsSync } from "node:fs";
import { describe, it } from "vitest";

export const REQUIRE_SERVICES = process.env.LATCHKEY_REQUIRE_SERVICES === "1";

/** Chromium for the browser tests: `CHROME_PATH`, or Debian's `/usr/bin/chromium`. */
export function chromiumPath(): string | null {
  const candidates = [process.env.CHROME_PATH, "/usr/bin/chromium", "/usr/bin/chromium-browser"];
  return candidates.find((path): path is string => Boolean(path && existsSync(path))) ?? null;
}

/**
 * `describe` when `available`, else a skipped suite, or under LATCHKEY_REQUIRE_SERVICES=1 a
 * suite whose one test fails saying what is missing.
 *
 * @example
 * describeWith("Chromium", chromiumPath() !== null)("web app", () => { ... });
 */
export function describeWith(service: string, available: boolean): (name: string, body: () => void) => void {
  if (available) return describe;
  if (!REQUIRE_SERVICES) return describe.skip;
  return (name: string, _body: () => void) =>
    describe(name, () => {
      it(`needs ${service}`, () => {
        throw new Error(`${service} is required (LATCHKEY_REQUIRE_SERVICES=1) but is not available`);
      });
    });
}
