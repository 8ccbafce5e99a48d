/**
 * Tokens live in the client's closure only (issue 29): nothing is written to storage or to
 * a global, whatever the mode. The test environment has no storage at all, so a write would
 * throw or land on a global; the globals are compared before and after a whole session.
 */
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, expect, it, vi } from "vitest";
import { channelHub, lockManager } from "./browser.js";
import { FakeLatchkey, PASSWORD } from "./fake-latchkey.js";
import { tab, within } from "./helpers.js";

beforeEach(() => {
  vi.useFakeTimers({ now: new Date("2026-03-01T12:00:00Z") });
});
afterEach(() => {
  vi.useRealTimers();
});

/** Every string reachable from a global, two levels deep. */
function globalStrings(): string {
  const seen: string[] = [];
  for (const key of Reflect.ownKeys(globalThis)) {
    let value: unknown;
    try {
      value = (globalThis as Record<PropertyKey, unknown>)[key];
    } catch {
      continue;
    }
    if (typeof value === "string") seen.push(value);
    else if (value && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
      for (const inner of Object.values(value)) if (typeof inner === "string") seen.push(inner);
    }
  }
  return seen.join("\n");
}

it.each(["memory", "cookie"] as const)("%s mode: no global gets a token, and no global is added", async (mode) => {
  const before = new Set(Reflect.ownKeys(globalThis));
  const server = new FakeLatchkey({ strategy: "jwt" });
  const options = { mode, locks: lockManager(), channel: channelHub().channel };
  const client = tab(server, options);
  await within(client.signIn("alice", PASSWORD));
  server.expireAccess();
  await within(client.fetch("https://auth.example/api/echo", { method: "POST" }));
  await within(tab(server, options).session());
  const secrets = [...server.access.keys(), ...server.refreshTokens.keys(), [...server.sessions.values()][0]!.csrf];
  expect(secrets.length).toBeGreaterThan(3);
  const strings = globalStrings();
  for (const secret of secrets) expect(strings).not.toContain(secret);
  // Node's own fetch machinery registers its dispatcher on first use: not the client's.
  const added = Reflect.ownKeys(globalThis).filter((key) => !before.has(key) && !String(key).includes("undici."));
  expect(added).toEqual([]);
  await within(client.signOut());
});

it("the sources never touch storage, cookies or window", () => {
  const dir = fileURLToPath(new URL("../src/", import.meta.url));
  for (const file of readdirSync(dir)) {
    const source = readFileSync(`${dir}${file}`, "utf8");
    expect(source, file).not.toMatch(/localStorage|sessionStorage|indexedDB|document\.cookie|\bwindow\./);
  }
});
