/**
 * The refresh before expiry (issue 29): `refreshMargin` seconds before the access token
 * expires, never more than half its lifetime; a refresh that fails without a verdict is
 * tried again, and one that latchkey refuses signs the client out.
 */
import { afterEach, beforeEach, expect, it, vi } from "vitest";
import { FakeLatchkey, PASSWORD } from "./fake-latchkey.js";
import { tab, within } from "./helpers.js";

beforeEach(() => {
  vi.useFakeTimers({ now: new Date("2026-03-01T12:00:00Z") });
});
afterEach(() => {
  vi.useRealTimers();
});

/** Milliseconds from sign-in to each refresh the client sent, over `span` ms of the fake clock. */
async function refreshTimes(server: FakeLatchkey, span: number, options = {}): Promise<number[]> {
  const client = tab(server, options);
  const start = Date.now();
  await within(client.signIn("alice", PASSWORD), 5);
  await vi.advanceTimersByTimeAsync(span - 5);
  client.close();
  const times = server.log.filter((entry) => entry.path === "/auth/refresh").map((entry) => entry.at - start);
  return times;
}

it("memory mode: refreshes 30 s before a 120 s token expires, then again before the next one does", async () => {
  const server = new FakeLatchkey({ accessTtl: 120 });
  // Sign-in answers at 5 ms (the fake network): expiry at 120 005 ms, refresh at 90 005.
  expect(await refreshTimes(server, 200_000, { mode: "memory" })).toEqual([90_005, 180_010]);
});

it("cookie mode under jwt: refreshMargin moves the refresh", async () => {
  const server = new FakeLatchkey({ strategy: "jwt", accessTtl: 300 });
  expect(await refreshTimes(server, 300_000, { refreshMargin: 60 })).toEqual([240_005]);
});

it("the margin is at most half the token's lifetime", async () => {
  const server = new FakeLatchkey({ accessTtl: 40 });
  expect(await refreshTimes(server, 41_000, { mode: "memory", refreshMargin: 30 })).toEqual([20_005, 40_010]);
});

it("a refresh that fails with a 5xx is tried again 10 s later, and the session stays", async () => {
  const server = new FakeLatchkey({ accessTtl: 120 });
  server.failNextRefresh = 503;
  const client = tab(server, { mode: "memory" });
  await within(client.signIn("alice", PASSWORD), 5);
  await vi.advanceTimersByTimeAsync(100_100);
  const sent = server.sent("POST", "/auth/refresh");
  expect(sent).toHaveLength(2);
  expect(sent[1]!.at - sent[0]!.at).toBe(10_005);
  expect(await client.session()).not.toBeNull();
  client.close();
});

it("a scheduled refresh that latchkey refuses is a forced sign-out with its code", async () => {
  const server = new FakeLatchkey({ strategy: "jwt", accessTtl: 120 });
  const client = tab(server);
  const reasons: string[] = [];
  client.onChange(({ reason }) => reasons.push(reason));
  await within(client.signIn("alice", PASSWORD), 5);
  server.endSessions();
  await vi.advanceTimersByTimeAsync(100_000);
  expect(reasons).toEqual(["signed_in", "invalid_grant"]);
  expect(await client.session()).toBeNull();
});

it("cookie mode under jwt: a page reloaded after its access cookie expired gets the CSRF token back and refreshes once", async () => {
  const server = new FakeLatchkey({ strategy: "jwt", accessTtl: 120 });
  const first = tab(server);
  await within(first.signIn("alice", PASSWORD), 5);
  first.close();
  // The page is closed; its access cookie expires; the refresh cookie lives on in the jar.
  server.expireAccess();
  const reloaded = tab(server);
  const session = await within(reloaded.session(), 100);
  expect(session?.user.username).toBe("alice");
  expect(server.sent("GET", "/auth/csrf")).toHaveLength(1);
  const refreshes = server.sent("POST", "/auth/refresh");
  expect(refreshes).toHaveLength(1);
  expect(refreshes[0]!.headers.get("x-csrf-token")).toBe(server.jar.get("csrf"));
  reloaded.close();
});
