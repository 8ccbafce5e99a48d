/**
 * Several tabs of one browser (issue 29): one refresh for all of them, with a Web Lock and
 * the channel; the racing retry without locks; sign-ins and sign-outs heard by every tab.
 * Each "tab" is a client on one fake lock manager and one channel hub, over one fake
 * latchkey whose cookie jar they share, as tabs share the browser's.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { type Change, type ClientOptions, createClient, type LatchkeyClient } from "../src/index.js";
import { channelHub, lockManager } from "./browser.js";
import { FakeLatchkey, PASSWORD, type Strategy } from "./fake-latchkey.js";
import { tab, within } from "./helpers.js";

beforeEach(() => {
  vi.useFakeTimers({ now: new Date("2026-03-01T12:00:00Z") });
});
afterEach(() => {
  vi.useRealTimers();
});

/** `count` tabs of one browser, each with its changes recorded. */
function browserTabs(server: FakeLatchkey, count: number, options: ClientOptions = {}) {
  const hub = channelHub();
  const locks = lockManager();
  const tabs: { client: LatchkeyClient; changes: Change[] }[] = [];
  for (let i = 0; i < count; i++) {
    const client = tab(server, { locks, channel: hub.channel, ...options });
    const changes: Change[] = [];
    client.onChange((change) => changes.push(change));
    tabs.push({ client, changes });
  }
  return { tabs, hub, locks };
}

const ECHO = "https://auth.example/api/echo";

describe("one refresh for every tab", () => {
  const cases: [string, ClientOptions, Strategy][] = [
    ["memory mode", { mode: "memory" }, "session"],
    ["cookie mode under jwt", {}, "jwt"],
    ["cookie mode under hybrid", {}, "hybrid"],
  ];
  it.each(cases)("%s: 5 tabs whose token is about to expire make exactly one refresh", async (_, options, strategy) => {
    const server = new FakeLatchkey({ strategy, accessTtl: 120 });
    const { tabs } = browserTabs(server, 5, options);
    const [first] = tabs;
    await within(first!.client.signIn("alice", PASSWORD));
    // Every other tab heard the sign-in (cookie mode: and loaded the session).
    for (const { changes } of tabs.slice(1))
      expect(changes.map((c) => [c.reason, c.fromOtherTab])).toEqual([["signed_in", true]]);
    // Just past expiry minus the 30 s margin, every tab's timer fires.
    await vi.advanceTimersByTimeAsync(91_000);
    expect(server.sent("POST", "/auth/refresh")).toHaveLength(1);
    const newest = Math.max(...[...server.access.values()].map((token) => token.exp));
    for (const { client, changes } of tabs) {
      expect(changes.at(-1)?.reason).toBe("refreshed");
      // Every tab knows the new expiry (cookie mode: from the message, on the refreshing tab's clock).
      expect((await client.session())?.accessExpiresAt).toBe(newest);
    }
    // The first token is dead by now; every tab works on the new one, and none refreshes.
    vi.setSystemTime(Date.now() + 40_000);
    for (const { client } of tabs) expect((await within(client.fetch(ECHO))).status).toBe(200);
    expect(server.sent("POST", "/auth/refresh")).toHaveLength(1);
    expect(tabs.every(({ changes }) => changes.every((c) => c.session !== null))).toBe(true);
  });
});

describe("a refresh that several tabs need at once", () => {
  it.each([
    ["memory mode", { mode: "memory" }, "session"],
    ["cookie mode under jwt", {}, "jwt"],
  ] as [string, ClientOptions, Strategy][])(
    "%s: 5 tabs refused at once wait for one lock and make one refresh",
    async (_, options, strategy) => {
      const server = new FakeLatchkey({ strategy });
      const { tabs, locks } = browserTabs(server, 5, options);
      await within(tabs[0]!.client.signIn("alice", PASSWORD));
      server.expireAccess();
      const answers = await within(
        Promise.all(tabs.map(({ client }) => client.fetch(ECHO, { method: "POST", body: "b" }))),
      );
      expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200, 200, 200]);
      expect(server.sent("POST", "/auth/refresh")).toHaveLength(1);
      // Each tab asked for the lock; the four that got it after the first found the refresh done.
      expect(locks.granted.get("latchkey:https://auth.example:refresh")).toBe(5);
      expect(tabs.flatMap(({ changes }) => changes).some((change) => change.session === null)).toBe(false);
    },
  );

  it("the tab that refreshed answers its caller at once, not after holding the lock", async () => {
    const server = new FakeLatchkey();
    const { tabs } = browserTabs(server, 1, { mode: "memory" });
    await within(tabs[0]!.client.signIn("alice", PASSWORD));
    server.expireAccess();
    // Three 5 ms round trips (the refused request, the refresh, the retry); the lock is held 50 ms.
    const answer = await within(tabs[0]!.client.fetch(ECHO), 20);
    expect(answer.status).toBe(200);
  });

  it("without Web Locks, the tabs that lose the race are refused invalid_grant, hear the winner, and stay signed in", async () => {
    const server = new FakeLatchkey();
    const { tabs } = browserTabs(server, 5, { mode: "memory", locks: null });
    await within(tabs[0]!.client.signIn("alice", PASSWORD));
    server.expireAccess();
    const answers = await within(Promise.all(tabs.map(({ client }) => client.fetch(ECHO))));
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200, 200, 200]);
    const refreshes = server.sent("POST", "/auth/refresh");
    // All five raced with the same cookie; the losers did not try again: the winner's token came.
    expect(refreshes).toHaveLength(5);
    expect(new Set(refreshes.map((entry) => entry.cookies.get("mrt"))).size).toBe(1);
    expect(tabs.flatMap(({ changes }) => changes).some((change) => change.session === null)).toBe(false);
  });

  it("without locks or a channel, a refresh refused invalid_grant is tried once more after 250 ms, with the winner's cookie", async () => {
    const server = new FakeLatchkey({ strategy: "jwt" });
    const a = tab(server);
    await within(a.signIn("alice", PASSWORD));
    const b = tab(server);
    await within(b.session());
    server.expireAccess();
    const answers = await within(Promise.all([a.fetch(ECHO), b.fetch(ECHO)]));
    expect(answers.map((answer) => answer.status)).toEqual([200, 200]);
    const refreshes = server.sent("POST", "/auth/refresh");
    expect(refreshes).toHaveLength(3);
    expect(refreshes[2]?.cookies.get("rt")).not.toBe(refreshes[0]?.cookies.get("rt"));
    expect(refreshes[2]?.headers.get("x-csrf-token")).toBe([...server.sessions.values()][0]?.csrf);
    expect(await a.session()).not.toBeNull();
    expect(await b.session()).not.toBeNull();
  });

  it("a second refusal is a forced sign-out with latchkey's code, heard by every tab", async () => {
    const server = new FakeLatchkey();
    const { tabs } = browserTabs(server, 3, { mode: "memory" });
    await within(tabs[0]!.client.signIn("alice", PASSWORD));
    server.expireAccess();
    server.endSessions();
    const answer = await within(tabs[1]!.client.fetch(ECHO));
    expect(answer.status).toBe(401);
    expect(server.sent("POST", "/auth/refresh")).toHaveLength(2);
    const last = tabs.map(({ changes }) => changes.at(-1));
    const message = "refused: invalid_grant";
    expect(last).toEqual([
      { session: null, reason: "invalid_grant", fromOtherTab: true, message },
      { session: null, reason: "invalid_grant", fromOtherTab: false, message },
      { session: null, reason: "invalid_grant", fromOtherTab: true, message },
    ]);
    for (const { client } of tabs) expect(await client.session()).toBeNull();
  });
});

describe("sign-ins and sign-outs reach every tab", () => {
  it("memory mode: the other tabs adopt the token in the message, with no request of their own", async () => {
    const server = new FakeLatchkey();
    const { tabs } = browserTabs(server, 3, { mode: "memory" });
    const info = await within(tabs[0]!.client.signIn("alice", PASSWORD));
    expect(server.log).toHaveLength(1);
    for (const { client } of tabs.slice(1)) expect(await client.session()).toEqual(info);
    await within(tabs[2]!.client.fetch(ECHO));
    expect(server.log.map((entry) => entry.path)).toEqual(["/auth/login", "/api/echo"]);
  });

  it("cookie mode: the other tabs load the new session from /auth/me, and the broadcast carries no secret", async () => {
    const server = new FakeLatchkey({ strategy: "jwt" });
    const { tabs, hub } = browserTabs(server, 3);
    await within(tabs[0]!.client.signIn("alice", PASSWORD));
    expect(server.sent("GET", "/auth/me")).toHaveLength(2);
    const csrf = [...server.sessions.values()][0]!.csrf;
    const secrets = [csrf, ...server.jar.values()];
    for (const { data } of hub.posted) for (const secret of secrets) expect(JSON.stringify(data)).not.toContain(secret);
    await within(tabs[1]!.client.fetch(ECHO, { method: "DELETE" }));
    expect(server.sent("DELETE", "/api/echo")[0]?.headers.get("x-csrf-token")).toBe(csrf);
  });

  it.each([
    ["signOut", "signed_out"],
    ["signOutEverywhere", "signed_out_everywhere"],
  ] as const)("%s: every tab hears %s, drops its token and its timer", async (method, reason) => {
    const server = new FakeLatchkey();
    const { tabs } = browserTabs(server, 3, { mode: "memory" });
    await within(tabs[0]!.client.signIn("alice", PASSWORD));
    await within(tabs[1]!.client[method]());
    expect(tabs.map(({ changes }) => changes.at(-1))).toEqual([
      { session: null, reason, fromOtherTab: true },
      { session: null, reason, fromOtherTab: false },
      { session: null, reason, fromOtherTab: true },
    ]);
    const before = server.log.length;
    await vi.advanceTimersByTimeAsync(3_600_000);
    expect(server.log).toHaveLength(before);
    await within(tabs[2]!.client.fetch(ECHO));
    expect(server.log.at(-1)?.headers.has("authorization")).toBe(false);
  });

  it("a tab signed out here is not signed back in by another tab's late refresh", async () => {
    const server = new FakeLatchkey();
    const hub = channelHub();
    const a = tab(server, { mode: "memory", channel: hub.channel });
    await within(a.signIn("alice", PASSWORD));
    await within(a.signOut());
    const late = hub.channel("latchkey:https://auth.example");
    late.postMessage({
      reason: "refreshed",
      session: null,
      token: "at-forged",
      expiresAt: Date.now() + 60_000,
      lifetime: 60,
    });
    await vi.advanceTimersByTimeAsync(10);
    expect(await a.session()).toBeNull();
    await within(a.fetch(ECHO));
    expect(server.log.at(-1)?.headers.has("authorization")).toBe(false);
  });

  it("close() stops the timer and the channel", async () => {
    const server = new FakeLatchkey();
    const { tabs } = browserTabs(server, 2, { mode: "memory" });
    await within(tabs[0]!.client.signIn("alice", PASSWORD));
    tabs[1]!.client.close();
    await within(tabs[0]!.client.signOut());
    expect(tabs[1]!.changes.map((change) => change.reason)).toEqual(["signed_in"]);
    tabs[0]!.client.close();
    await within(tabs[0]!.client.signIn("alice", PASSWORD));
    await vi.advanceTimersByTimeAsync(3_600_000);
    expect(server.sent("POST", "/auth/refresh")).toHaveLength(0);
  });
});

describe("the browser's own BroadcastChannel (Node's implementation of it)", () => {
  it("is the default, and carries a sign-out to another client", async () => {
    vi.useRealTimers();
    const server = new FakeLatchkey({ latency: 0 });
    const options = { baseUrl: server.origin, fetch: server.fetch, locks: null, mode: "memory" } as const;
    const a = createClient({ ...options, name: "latchkey:real-channel-test" });
    const b = createClient({ ...options, name: "latchkey:real-channel-test" });
    const heard: Change[] = [];
    b.onChange((change) => heard.push(change));
    try {
      await a.signIn("alice", PASSWORD);
      await vi.waitFor(() => expect(heard.map((c) => c.reason)).toEqual(["signed_in"]));
      await a.signOut();
      await vi.waitFor(() => expect(heard.map((c) => c.reason)).toEqual(["signed_in", "signed_out"]));
      expect(heard.every((change) => change.fromOtherTab)).toBe(true);
    } finally {
      a.close();
      b.close();
    }
  });
});
