/**
 * An open page does not keep an idle session alive (issue 30, defect 7): by default the
 * refresh before expiry runs only when the app used the session since the last token, and
 * a forced sign-out says why latchkey ended the session (its `Latchkey-Session-Ended`).
 */
import { afterEach, beforeEach, expect, it, vi } from "vitest";
import type { Change } from "../src/index.js";
import { FakeLatchkey, PASSWORD } from "./fake-latchkey.js";
import { tab, within } from "./helpers.js";

beforeEach(() => {
  vi.useFakeTimers({ now: new Date("2026-03-01T12:00:00Z") });
});
afterEach(() => {
  vi.useRealTimers();
});

it.each(["memory", "cookie"] as const)(
  "%s mode: an unused page lets its token lapse, and its next request refreshes first",
  async (mode) => {
    const server = new FakeLatchkey({ strategy: "jwt", accessTtl: 120 });
    const client = tab(server, { mode, keepAlive: undefined });
    await within(client.signIn("alice", PASSWORD), 5);
    await vi.advanceTimersByTimeAsync(600_000);
    expect(server.sent("POST", "/auth/refresh")).toHaveLength(0);
    const answer = await within(client.fetch(`${server.origin}/api/echo`), 50);
    expect(answer.status).toBe(200);
    // One refresh, before the request went out (not a 401 and a retry).
    expect(server.sent("POST", "/auth/refresh")).toHaveLength(1);
    expect(server.sent("GET", "/api/echo")).toHaveLength(1);
    client.close();
  },
);

it("a request after the last token sets the refresh before expiry going once; then idle again, none", async () => {
  const server = new FakeLatchkey({ accessTtl: 120 });
  const client = tab(server, { mode: "memory", keepAlive: undefined });
  const start = Date.now();
  await within(client.signIn("alice", PASSWORD), 5);
  await within(client.fetch(`${server.origin}/api/echo`), 20);
  await vi.advanceTimersByTimeAsync(600_000);
  const times = server.sent("POST", "/auth/refresh").map((entry) => entry.at - start);
  // Sign-in answered at 5 ms: the refresh 30 s before the 120 s token expires, and no other.
  expect(times).toEqual([90_005]);
  client.close();
});

it("keepAlive: true refreshes before every expiry, used or not", async () => {
  const server = new FakeLatchkey({ accessTtl: 120 });
  const client = tab(server, { mode: "memory", keepAlive: true });
  await within(client.signIn("alice", PASSWORD), 5);
  await vi.advanceTimersByTimeAsync(400_000);
  expect(server.sent("POST", "/auth/refresh").length).toBe(4);
  client.close();
});

it.each([
  ["session", "cookie"],
  ["jwt", "cookie"],
  ["jwt", "memory"],
] as const)(
  "%s, %s mode: a forced sign-out carries why latchkey ended the session, to this tab",
  async (strategy, mode) => {
    const server = new FakeLatchkey({ strategy, accessTtl: 600 });
    const client = tab(server, { mode });
    await within(client.signIn("alice", PASSWORD), 5);
    const changes: Change[] = [];
    client.onChange((change) => changes.push(change));
    server.endSessions("password_changed");
    // Under jwt the 401 leads to a refresh, refused (tried twice: a lost race waits 250 ms).
    const answer = await within(client.fetch(`${server.origin}/api/echo`), 1_000);
    expect(answer.status).toBe(401);
    expect(changes.at(-1)).toMatchObject({ session: null, ended: "password_changed", fromOtherTab: false });
    client.close();
  },
);

it("a refusal without a reason leaves `ended` out", async () => {
  const server = new FakeLatchkey({ strategy: "session" });
  const client = tab(server);
  await within(client.signIn("alice", PASSWORD), 5);
  const changes: Change[] = [];
  client.onChange((change) => changes.push(change));
  server.endSessions();
  await within(client.fetch(`${server.origin}/api/echo`), 100);
  expect(changes.at(-1)?.session).toBeNull();
  expect(changes.at(-1)).not.toHaveProperty("ended");
  client.close();
});

it("the other tabs hear why, over the channel", async () => {
  const server = new FakeLatchkey({ strategy: "session" });
  const listeners = new Set<(data: unknown) => void>();
  const channel = () => {
    const self = {
      onmessage: null as ((event: { data: unknown }) => void) | null,
      postMessage(data: unknown) {
        for (const other of listeners) if (other !== deliver) other(data);
      },
      close() {},
    };
    const deliver = (data: unknown) => self.onmessage?.({ data: structuredClone(data) });
    listeners.add(deliver);
    return self;
  };
  const first = tab(server, { channel });
  const second = tab(server, { channel });
  await within(first.signIn("alice", PASSWORD), 5);
  await within(second.session(), 20);
  const heard: Change[] = [];
  second.onChange((change) => heard.push(change));
  server.endSessions("account_disabled");
  await within(first.fetch(`${server.origin}/api/echo`), 100);
  expect(heard.at(-1)).toMatchObject({ session: null, ended: "account_disabled", fromOtherTab: true });
  first.close();
  second.close();
});

it("a refused refresh keeps the reason of its first answer when the retry for a lost race says none", async () => {
  const server = new FakeLatchkey({ strategy: "jwt", accessTtl: 600 });
  let told = false;
  // latchkey says why on the refusal that ended the session; the retry finds no cookie to judge.
  const fetch: typeof globalThis.fetch = async (input, init) => {
    const answer = await server.fetch(input, init);
    if (told || !String(input instanceof Request ? input.url : input).endsWith("/auth/refresh")) return answer;
    told = true;
    const headers = new Headers(answer.headers);
    headers.set("latchkey-session-ended", "refresh_reuse_detected");
    return new Response(await answer.text(), { status: answer.status, headers });
  };
  const client = tab(server, { fetch });
  await within(client.signIn("alice", PASSWORD), 5);
  const changes: Change[] = [];
  client.onChange((change) => changes.push(change));
  server.endSessions();
  await within(client.fetch(`${server.origin}/api/echo`), 1_000);
  expect(server.sent("POST", "/auth/refresh")).toHaveLength(2);
  expect(changes.at(-1)).toMatchObject({ session: null, reason: "invalid_grant", ended: "refresh_reuse_detected" });
  client.close();
});

// (Not the in-memory mode: its refresh cookie is the only credential a reloaded page has,
// and a refresh token goes with its session, so latchkey cannot say whose session it was.)
it.each([
  ["session", "cookie"],
  ["jwt", "cookie"],
  ["hybrid", "cookie"],
] as const)(
  "%s, %s mode: a page loaded after latchkey ended the session hears why (a reload after a password reset)",
  async (strategy, mode) => {
    const server = new FakeLatchkey({ strategy, accessTtl: 600 });
    const before = tab(server, { mode });
    await within(before.signIn("alice", PASSWORD), 5);
    before.close();
    server.endSessions("password_reset");
    // The reloaded page: the same browser's cookies, nothing in memory.
    const reloaded = tab(server, { mode });
    const changes: Change[] = [];
    reloaded.onChange((change) => changes.push(change));
    expect(await within(reloaded.session(), 1_000)).toBeNull();
    expect(changes.at(-1)).toMatchObject({ session: null, ended: "password_reset", fromOtherTab: false });
    reloaded.close();
  },
);

it("a page loaded signed out, with no reason given, hears nothing", async () => {
  const server = new FakeLatchkey({ strategy: "session" });
  const client = tab(server);
  const changes: Change[] = [];
  client.onChange((change) => changes.push(change));
  expect(await within(client.session(), 100)).toBeNull();
  expect(changes).toEqual([]);
  client.close();
});
