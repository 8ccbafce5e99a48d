/**
 * What the review of issue 29 found, each held here: a sign-out that latchkey refused is
 * not reported as done; a memory refresh that turns out to belong to someone else's
 * session (another app of the browser signed in over it) is told as a sign-in; a
 * cookie-mode tab that heard another's refresh before loading its own session gets its
 * CSRF token before refreshing, and a refresh refused for good is not retried for ever.
 */
import { afterEach, beforeEach, expect, it, vi } from "vitest";
import { type Change, LatchkeyError } from "../src/index.js";
import { channelHub, lockManager } from "./browser.js";
import { FakeLatchkey, PASSWORD } from "./fake-latchkey.js";
import { tab, within } from "./helpers.js";

beforeEach(() => {
  vi.useFakeTimers({ now: new Date("2026-03-01T12:00:00Z") });
});
afterEach(() => {
  vi.useRealTimers();
});

it.each([
  ["cookie mode", {}],
  ["memory mode", { mode: "memory" as const }],
])("%s: a sign-out latchkey refuses (403, 503) throws and leaves the tab signed in", async (_, options) => {
  const server = new FakeLatchkey({ strategy: "jwt", accessTtl: 600 });
  const client = tab(server, options);
  const changes: Change[] = [];
  client.onChange((change) => changes.push(change));
  await within(client.signIn("alice", PASSWORD), 10);
  for (const status of [403, 503]) {
    server.failNextLogout = status;
    await expect(within(client.signOut(), 10)).rejects.toBeInstanceOf(LatchkeyError);
    expect(await client.session()).not.toBeNull();
  }
  expect(changes.map((c) => c.reason)).toEqual(["signed_in"]);
  await within(client.signOut(), 10);
  expect(await client.session()).toBeNull();
  client.close();
});

it("memory mode: a refresh whose cookie now belongs to another user's session is a sign-in, not a refresh", async () => {
  const server = new FakeLatchkey({ accessTtl: 120 });
  const client = tab(server, { mode: "memory" });
  const changes: Change[] = [];
  client.onChange((change) => changes.push(change));
  await within(client.signIn("alice", PASSWORD), 10);
  // Another app of this browser signs in as bob: the shared cookie is now bob's.
  const other = tab(server, { mode: "memory" });
  await within(other.signIn("alice", PASSWORD), 10);
  for (const sid of server.sessions.keys()) server.otherUser.add(sid);
  other.close();
  await vi.advanceTimersByTimeAsync(95_000);
  const last = changes.at(-1);
  expect(last?.reason).toBe("signed_in");
  expect(last?.session?.user.username).toBe("bob");
  expect((await client.session())?.user.username).toBe("bob");
  client.close();
});

it("cookie mode: a tab that heard a refresh before loading its session gets the CSRF token first, and a refusal for good is final", async () => {
  const server = new FakeLatchkey({ strategy: "jwt", accessTtl: 120 });
  const hub = channelHub();
  const locks = lockManager();
  const signing = tab(server, { locks, channel: hub.channel });
  const quiet = tab(server, { locks, channel: hub.channel });
  await within(signing.signIn("alice", PASSWORD), 10);
  signing.close();
  // The quiet tab never asked for its session; it heard the sign-in and schedules refreshes.
  await vi.advanceTimersByTimeAsync(95_000);
  const refreshes = server.sent("POST", "/auth/refresh");
  expect(refreshes.length).toBeGreaterThanOrEqual(1);
  for (const sent of refreshes) expect(sent.headers.get("x-csrf-token")).toBe(server.jar.get("csrf"));
  // A refresh refused for good (403) signs the tab out once; no retry every 10 s.
  server.jar.set("csrf", "stale");
  for (const session of server.sessions.values()) session.csrf = "changed";
  const before = server.sent("POST", "/auth/refresh").length;
  await vi.advanceTimersByTimeAsync(600_000);
  expect(server.sent("POST", "/auth/refresh").length - before).toBeLessThanOrEqual(1);
  expect(await within(quiet.session(), 10)).toBeNull();
  quiet.close();
});
