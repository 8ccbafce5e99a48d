/**
 * Security checklist lines 9-16 and 18-21: cookies, session identifiers, timeouts,
 * logout, logout everywhere, password change, disabled accounts, the session list.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Client, type Harness, PASSWORD, setCookieLines, startHarness, uniqueName } from "../helpers/harness.js";

const SID = "__Host-sid";
const MINUTE = 60_000;

describe("security checklist 9-21 (cookies and sessions)", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.close());

  const loggedIn = async (remember?: boolean): Promise<[Client, string]> => {
    const c = h.client();
    const name = uniqueName();
    await c.signUpAndLogIn(name, PASSWORD, remember);
    return [c, name];
  };

  it("security 9: login cookies are __Host-, Secure, HttpOnly, Path=/, SameSite, no Domain", async () => {
    const c = h.client();
    const name = uniqueName();
    await c.register(name);
    const response = await c.login(name);
    const lines = setCookieLines(response);
    const sid = lines.find((l) => l.startsWith(`${SID}=`));
    const csrf = lines.find((l) => l.startsWith("__Host-csrf="));
    expect(sid).toBeDefined();
    expect(csrf).toBeDefined();
    for (const line of [sid, csrf] as string[]) {
      expect(line).toMatch(/; Secure/);
      expect(line).toMatch(/; Path=\//);
      expect(line).toMatch(/; SameSite=Lax/);
      expect(line).not.toMatch(/Domain=/i);
      expect(line).not.toMatch(/Max-Age/i); // no "remember": session cookies
    }
    expect(sid).toMatch(/; HttpOnly/);
    expect(csrf).not.toMatch(/HttpOnly/);
  });

  it("security 9: with remember, Max-Age never outlives the absolute timeout", async () => {
    const c = h.client();
    const name = uniqueName();
    await c.register(name);
    const response = await c.login(name, PASSWORD, true);
    const sid = setCookieLines(response).find((l) => l.startsWith(`${SID}=`)) as string;
    const maxAge = Number(/Max-Age=(\d+)/.exec(sid)?.[1]);
    expect(maxAge).toBeGreaterThan(0);
    expect(maxAge).toBeLessThanOrEqual(2_592_000);
    const expiresAt = Date.parse(response.json().session.expiresAt);
    expect(h.clock.now() + maxAge * 1000).toBeLessThanOrEqual(expiresAt);
  });

  it("security 9: COOKIE_SECURE=false drops Secure and the __Host- prefix", async () => {
    const plain = await startHarness({ COOKIE_SECURE: "false" });
    try {
      const c = plain.client();
      const name = uniqueName();
      await c.register(name);
      const lines = setCookieLines(await c.login(name));
      const sid = lines.find((l) => l.startsWith("sid=")) as string;
      expect(sid).toBeDefined();
      expect(sid).not.toMatch(/Secure/);
      expect(sid).toMatch(/HttpOnly/);
      expect((await c.get("/auth/me")).statusCode).toBe(200);
    } finally {
      await plain.close();
    }
  });

  it("security 10: 1,000 logins give 1,000 distinct secrets of at least 128 random bits", {
    timeout: 120_000,
  }, async () => {
    const name = uniqueName();
    await h.client().register(name);
    const secrets = new Set<string>();
    // Five at a time: attempts are counted before the hash, so more concurrent logins to
    // one account than LOGIN_MAX_FAILURES would be throttled, right password or not.
    for (let batch = 0; batch < 200; batch++) {
      const responses = await Promise.all(
        Array.from({ length: 5 }, (_, i) => h.client({ ip: `10.10.${batch}.${i + 1}` }).login(name)),
      );
      for (const response of responses) {
        expect(response.statusCode).toBe(200);
        const value = response.cookies.find((c) => c.name === SID)?.value as string;
        const secret = value.split(".")[1] as string;
        expect(Buffer.from(secret, "base64url").length * 8).toBeGreaterThanOrEqual(128);
        secrets.add(secret);
      }
    }
    expect(secrets.size).toBe(1000);
  });

  it("security 11: the session secret is never in a body, URL or Location; ?sid= is ignored", async () => {
    const [c] = await loggedIn();
    const cookie = c.cookies.get(SID) as string;
    const secret = cookie.split(".")[1] as string;
    for (const url of ["/auth/me", "/auth/sessions", "/auth/events", "/api/todos"]) {
      const response = await c.get(url);
      expect(response.body).not.toContain(secret);
      expect(response.headers.location).toBeUndefined();
    }
    const viaQuery = await h.client().get(`/auth/me?sid=${encodeURIComponent(cookie)}`);
    expect(viaQuery.statusCode).toBe(401);
    const viaQueryHost = await h.client().get(`/auth/me?${SID}=${encodeURIComponent(cookie)}`);
    expect(viaQueryHost.statusCode).toBe(401);
  });

  it("security 12: a cookie the server never issued is never adopted", async () => {
    const c = h.client();
    const name = uniqueName();
    await c.register(name);
    const planted = `${"A".repeat(22)}.${"B".repeat(43)}`;
    c.cookies.set(SID, planted);
    expect((await c.get("/auth/me")).statusCode).toBe(401);
    const login = await c.login(name);
    expect(login.statusCode).toBe(200);
    expect(c.cookies.get(SID)).not.toBe(planted);
    expect(login.json().session.id).not.toBe("A".repeat(22));
    const other = h.client();
    other.cookies.set(SID, planted);
    expect((await other.get("/auth/me")).statusCode).toBe(401);
  });

  it("security 12: after login, the pre-login cookie value is worthless", async () => {
    const [c, name] = await loggedIn();
    const before = c.cookies.get(SID) as string;
    const again = await c.login(name);
    expect(again.statusCode).toBe(200);
    expect(c.cookies.get(SID)).not.toBe(before);
    const replay = h.client();
    replay.cookies.set(SID, before);
    expect((await replay.get("/auth/me")).statusCode).toBe(401);
  });

  it("security 13: tampered cookies answer 401, never 500", async () => {
    const [c] = await loggedIn();
    const good = c.cookies.get(SID) as string;
    const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === "A" ? "B" : "A") + s.slice(i + 1);
    const variants = [
      flip(good, 5),
      flip(good, good.length - 3),
      good.slice(0, -1),
      good.slice(0, 22),
      "",
      "x".repeat(5 * 1024),
      "sëssion-ünicode",
      `${good}.extra`,
      encodeURIComponent("%%%"),
    ];
    for (const value of variants) {
      const response = await h.app.inject({ method: "GET", url: "/auth/me", headers: { cookie: `${SID}=${value}` } });
      expect(response.statusCode, value.slice(0, 40)).toBe(401);
      expect(response.json().error.code).toBe("unauthenticated");
    }
    const repeated = await h.app.inject({
      method: "GET",
      url: "/auth/me",
      headers: { cookie: `${SID}=${flip(good, 3)}; ${SID}=${good}` },
    });
    expect(repeated.statusCode).toBe(401);
    const raw = await h.app.inject({ method: "GET", url: "/auth/me", headers: { cookie: `${SID}=\u00ff\u00fe` } });
    expect(raw.statusCode).toBe(401);
  });

  it("security 14: the idle timeout ends an unused session; steady use keeps it alive", async () => {
    const [busy] = await loggedIn();
    const [idle] = await loggedIn();
    for (let i = 0; i < 4; i++) {
      h.clock.advance(20 * MINUTE);
      expect((await busy.get("/auth/me")).statusCode).toBe(200);
    }
    expect((await idle.get("/auth/me")).statusCode).toBe(401);
  });

  it("security 15: the absolute timeout ends a session however busy", async () => {
    const [busy] = await loggedIn();
    let elapsed = 0;
    while (elapsed < 12 * 60 * MINUTE - 10 * MINUTE) {
      expect((await busy.get("/api/todos")).statusCode).toBe(200);
      h.clock.advance(10 * MINUTE);
      elapsed += 10 * MINUTE;
    }
    h.clock.advance(10 * MINUTE);
    expect((await busy.get("/api/todos")).statusCode).toBe(401);
  });

  it("security 16: logout clears the cookie and the old value is refused", async () => {
    const [c] = await loggedIn();
    const old = c.cookies.get(SID) as string;
    const response = await c.post("/auth/logout");
    expect(response.statusCode).toBe(204);
    const cleared = setCookieLines(response).find((l) => l.startsWith(`${SID}=`)) as string;
    expect(cleared).toMatch(/Max-Age=0/);
    const replay = h.client();
    replay.cookies.set(SID, old);
    expect((await replay.get("/auth/me")).statusCode).toBe(401);
    // Idempotent: again, and with no credential at all.
    expect((await c.post("/auth/logout")).statusCode).toBe(204);
    expect((await h.client().post("/auth/logout")).statusCode).toBe(204);
  });

  it("security 18: logout everywhere ends every session of the user, and only theirs", async () => {
    const name = uniqueName();
    const first = h.client();
    await first.signUpAndLogIn(name);
    const second = h.client();
    await second.login(name);
    const [stranger] = await loggedIn();
    expect((await first.post("/auth/logout-all")).statusCode).toBe(204);
    expect((await first.get("/auth/me")).statusCode).toBe(401);
    expect((await second.get("/auth/me")).statusCode).toBe(401);
    expect((await stranger.get("/auth/me")).statusCode).toBe(200);
  });

  it("security 19: a password change needs the current password, ends other sessions, rotates this one", async () => {
    const name = uniqueName();
    const here = h.client();
    await here.signUpAndLogIn(name);
    const elsewhere = h.client();
    await elsewhere.login(name);
    const wrong = await here.post("/auth/password", {
      currentPassword: "not-it-at-all",
      newPassword: "a brand new secret",
    });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json().error.code).toBe("invalid_credentials");
    const weak = await here.post("/auth/password", { currentPassword: PASSWORD, newPassword: "password1234" });
    expect(weak.json().error.code).toBe("weak_password");

    const oldCookie = here.cookies.get(SID) as string;
    const changed = await here.post("/auth/password", { currentPassword: PASSWORD, newPassword: "a brand new secret" });
    expect(changed.statusCode).toBe(204);
    expect(here.cookies.get(SID)).not.toBe(oldCookie);
    expect(here.cookies.get(SID)?.split(".")[0]).toBe(oldCookie.split(".")[0]);
    expect((await here.get("/auth/me")).statusCode).toBe(200);
    expect((await elsewhere.get("/auth/me")).statusCode).toBe(401);
    const replay = h.client();
    replay.cookies.set(SID, oldCookie);
    expect((await replay.get("/auth/me")).statusCode).toBe(401);
    expect((await h.client().login(name, PASSWORD)).statusCode).toBe(401);
    expect((await h.client().login(name, "a brand new secret")).statusCode).toBe(200);
  });

  it("security 20: a disabled account's cookies stop at once; login says account_disabled", async () => {
    const [c, name] = await loggedIn();
    await h.server.auth.accounts.disable(name);
    expect((await c.get("/auth/me")).statusCode).toBe(401);
    const login = await h.client().login(name);
    expect(login.statusCode).toBe(403);
    expect(login.json().error.code).toBe("account_disabled");
    expect((await h.client().login(name, "wrong password here")).json().error.code).toBe("invalid_credentials");
    await h.server.auth.accounts.enable(name);
    expect((await h.client().login(name)).statusCode).toBe(200);
  });

  it("security 20: a deleted account's cookies stop at once", async () => {
    const name = uniqueName();
    const here = h.client();
    await here.signUpAndLogIn(name);
    const elsewhere = h.client();
    await elsewhere.login(name);
    const response = await here.request({ method: "DELETE", url: "/auth/account", body: { password: PASSWORD } });
    expect(response.statusCode).toBe(204);
    expect((await here.get("/auth/me")).statusCode).toBe(401);
    expect((await elsewhere.get("/auth/me")).statusCode).toBe(401);
    expect((await h.client().login(name)).statusCode).toBe(401);
  });

  it("security 21: the session list shows only the caller's; another user's id answers 404 and lives on", async () => {
    const [alice] = await loggedIn();
    const [bob] = await loggedIn();
    const bobSession = (await bob.get("/auth/me")).json().session.id as string;
    const list = (await alice.get("/auth/sessions")).json().sessions as Array<{ id: string; current: boolean }>;
    expect(list.map((s) => s.id)).not.toContain(bobSession);
    expect(list.filter((s) => s.current)).toHaveLength(1);
    const attempt = await alice.request({ method: "DELETE", url: `/auth/sessions/${bobSession}` });
    expect(attempt.statusCode).toBe(404);
    expect(attempt.json().error.code).toBe("not_found");
    expect((await bob.get("/auth/me")).statusCode).toBe(200);
  });
});
