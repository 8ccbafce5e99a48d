/**
 * Issue 30, defect 2's server side: a credential of a session that has ended is refused
 * with the contract's 401 and a `Latchkey-Session-Ended` header that says why, under
 * every strategy, for cookies and bearer tokens, from the refresh too; and the security
 * log's new events (`logout_others`, `password_change_failed`), in the contract's event shape.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Client, Harness } from "../helpers/harness.js";
import { OPERATOR, PASSWORD, startHarness, uniqueName } from "../helpers/harness.js";

const HEADER = "latchkey-session-ended";

/** Two browsers of one new user: `victim` is told why, `other` does the ending. */
async function twoDevices(h: Harness) {
  const name = uniqueName("why");
  const victim = h.client();
  const { user, session } = await victim.signUpAndLogIn(name);
  const other = h.client({ userAgent: "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) Safari/604.1" });
  expect((await other.login(name)).statusCode).toBe(200);
  return { name, userId: user.id, sessionId: session.id, victim, other };
}

/** Ways of ending the victim's session, each with the reason it must be told. */
const ENDINGS: Array<[string, (h: Harness, d: Awaited<ReturnType<typeof twoDevices>>) => Promise<unknown>]> = [
  ["session_revoked", (_h, d) => d.other.request({ method: "DELETE", url: `/auth/sessions/${d.sessionId}` })],
  ["session_revoked", (_h, d) => d.other.post("/auth/logout-others")],
  ["signed_out_everywhere", (_h, d) => d.other.post("/auth/logout-all")],
  [
    "password_changed",
    (_h, d) => d.other.post("/auth/password", { currentPassword: PASSWORD, newPassword: "a brand new passphrase 42" }),
  ],
  [
    "account_deleted",
    (_h, d) => d.other.request({ method: "DELETE", url: "/auth/account", body: { password: PASSWORD } }),
  ],
  ["account_disabled", (h, d) => h.server.auth.admin.disable(d.userId, OPERATOR)],
  ["signed_out", async (h, d) => d.victim.copy().post("/auth/logout")],
];

describe.each(["session", "jwt", "hybrid"] as const)("under %s", (strategy) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ AUTH_STRATEGY: strategy });
  });
  afterAll(() => h.close());

  it.each(ENDINGS)("a session ended as %s is refused with that reason", async (reason, endIt) => {
    const d = await twoDevices(h);
    // Taken before the ending: a 401 may clear the victim's cookies.
    const refresher = d.victim.copy();
    await endIt(h, d);
    const me = await d.victim.get("/auth/me");
    expect(me.statusCode).toBe(401);
    expect(me.json()).toEqual({ error: { code: "unauthenticated", message: expect.any(String) } });
    expect(me.headers[HEADER]).toBe(reason);
    if (strategy === "jwt") {
      // The refresh token went with its session; the access cookie still names it.
      const refused = await refresher.post("/auth/refresh");
      expect(refused.statusCode).toBe(401);
      expect(refused.json().error.code).toBe("invalid_grant");
      expect(refused.headers[HEADER]).toBe(reason);
    }
  });

  it("a session that timed out says session_expired while its record remains", async () => {
    const { victim } = await twoDevices(h);
    h.clock.advance(8 * 24 * 3600 * 1000);
    try {
      // Under jwt an expired access cookie is routine (the client refreshes); the refresh says why.
      const refused = strategy === "jwt" ? await victim.post("/auth/refresh") : await victim.get("/auth/me");
      expect(refused.statusCode).toBe(401);
      expect(refused.headers[HEADER]).toBe("session_expired");
    } finally {
      h.clock.advance(-8 * 24 * 3600 * 1000);
    }
  });

  it("a forged or unknown credential gets no reason", async () => {
    const stranger = h.client();
    stranger.cookies.set("__Host-sid", "not-a-session.at-all");
    stranger.cookies.set("__Host-at", "not.a.jwt");
    const me = await stranger.get("/auth/me");
    expect(me.statusCode).toBe(401);
    expect(me.headers[HEADER]).toBeUndefined();
    const bare = await h.client().get("/auth/me");
    expect(bare.headers[HEADER]).toBeUndefined();
  });

  it("a bearer token of an ended session is invalid_token with the reason", async () => {
    const name = uniqueName("bearer");
    const api = h.client();
    await api.register(name);
    const { access_token } = (await api.token(name)).json();
    const other = h.client();
    await other.login(name);
    await other.post("/auth/logout-all");
    const me = await api.bearer("GET", "/auth/me", access_token);
    expect(me.statusCode).toBe(401);
    expect(me.json().error.code).toBe("invalid_token");
    expect(me.headers[HEADER]).toBe("signed_out_everywhere");
  });
});

describe("SESSION_END_REASON_TTL", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ AUTH_STRATEGY: "session", SESSION_END_REASON_TTL: "120" });
  });
  afterAll(() => h.close());

  it("keeps the reason that long, then forgets it (the credential is refused all the same)", async () => {
    const d = await twoDevices(h);
    expect((await d.other.post("/auth/logout-all")).statusCode).toBe(204);
    h.clock.advance(119_000);
    try {
      expect((await d.victim.copy().get("/auth/me")).headers[HEADER]).toBe("signed_out_everywhere");
      h.clock.advance(2000);
      const later = await d.victim.get("/auth/me");
      expect(later.statusCode).toBe(401);
      expect(later.headers[HEADER]).toBeUndefined();
    } finally {
      h.clock.advance(-121_000);
    }
  });
});

describe("the refresh under jwt", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ AUTH_STRATEGY: "jwt", REFRESH_REUSE_LEEWAY: "0" });
  });
  afterAll(() => h.close());

  it("a page idle past its access token's lifetime is still told why at its refresh", async () => {
    const d = await twoDevices(h);
    await d.other.post("/auth/password", { currentPassword: PASSWORD, newPassword: "a brand new passphrase 42" });
    // Past the access token's lifetime, not the session's: the token has expired, its sid still names the session.
    h.clock.advance(11 * 60 * 1000);
    try {
      const refused = await d.victim.post("/auth/refresh");
      expect(refused.statusCode).toBe(401);
      expect(refused.json().error.code).toBe("invalid_grant");
      expect(refused.headers[HEADER]).toBe("password_changed");
    } finally {
      h.clock.advance(-11 * 60 * 1000);
    }
  });

  it("a replayed refresh token ends the session as refresh_reuse_detected, and says so to both holders", async () => {
    const d = await twoDevices(h);
    const thief = d.victim.copy();
    expect((await d.victim.post("/auth/refresh")).statusCode).toBe(200);
    h.clock.advance(1000);
    const replay = await thief.post("/auth/refresh");
    expect(replay.statusCode).toBe(401);
    expect(replay.headers[HEADER]).toBe("refresh_reuse_detected");
    const owner = await d.victim.get("/auth/me");
    expect(owner.headers[HEADER]).toBe("refresh_reuse_detected");
  });
});

describe("the security log", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ AUTH_STRATEGY: "session" });
  });
  afterAll(() => h.close());

  it("'sign out all other devices' is one logout_others event saying how many ended", async () => {
    const d = await twoDevices(h);
    const third = h.client();
    await third.login(d.name);
    expect((await d.other.post("/auth/logout-others")).json()).toEqual({ ended: 2 });
    const { events } = (await d.other.get("/auth/events")).json();
    expect(events[0]).toMatchObject({ type: "logout_others", ended: 2 });
    expect(events.filter((e: { type: string }) => e.type === "session_revoked")).toHaveLength(0);
  });

  it("a failed password change is logged, with the client it came from", async () => {
    const d = await twoDevices(h);
    const refused = await d.other.post("/auth/password", {
      currentPassword: "not the password at all",
      newPassword: "another long passphrase 7",
    });
    expect(refused.statusCode).toBe(401);
    const { events } = (await d.other.get("/auth/events")).json();
    expect(events[0]).toEqual({
      id: expect.any(String),
      type: "password_change_failed",
      at: expect.any(String),
      sessionId: expect.any(String),
      ip: "127.0.0.1",
      userAgent: expect.stringContaining("iPhone"),
    });
  });
});
