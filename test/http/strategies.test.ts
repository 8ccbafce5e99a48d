/**
 * The jwt and hybrid cookie strategies (contract section 5): checklist lines 9, 12, 13, 16,
 * 18, 19 and 22-24 repeated for each, plus refresh (jwt) and renewal (hybrid).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Client, type Harness, PASSWORD, setCookieLines, startHarness, uniqueName } from "../helpers/harness.js";

const AT = "__Host-at";
const RT = "__Host-rt";
const SID = "__Host-sid";
const CSRF = "__Host-csrf";

describe.each(["jwt", "hybrid"] as const)("AUTH_STRATEGY=%s", (strategy) => {
  let h: Harness;
  const credentialCookies = strategy === "jwt" ? [AT, RT] : [AT, SID];
  beforeAll(async () => {
    h = await startHarness({ AUTH_STRATEGY: strategy });
  });
  afterAll(() => h.close());

  const signedIn = async (remember?: boolean): Promise<[Client, string]> => {
    const c = h.client();
    const name = uniqueName();
    await c.signUpAndLogIn(name, PASSWORD, remember);
    return [c, name];
  };
  /** A fresh browser holding exactly these cookie values. */
  const browserWith = (cookies: Record<string, string>, csrf?: string) => {
    const c = h.client();
    for (const [name, value] of Object.entries(cookies)) c.cookies.set(name, value);
    c.csrfToken = csrf;
    return c;
  };
  const snapshot = (c: Client) => Object.fromEntries(credentialCookies.map((n) => [n, c.cookies.get(n) as string]));

  it(`security 9 (${strategy}): login sets ${credentialCookies.join(" + ")} + ${CSRF} with the right attributes`, async () => {
    const c = h.client();
    const name = uniqueName();
    await c.register(name);
    const response = await c.login(name);
    expect(response.json().session.strategy).toBe(strategy);
    const lines = setCookieLines(response);
    // The device cookie (a past login on this browser, for the lockout) rides along.
    expect(lines.map((l) => l.split("=")[0]).sort()).toEqual([...credentialCookies, CSRF, "__Host-device"].sort());
    for (const line of lines) {
      expect(line).toMatch(/; Secure/);
      expect(line).toMatch(/; Path=\//);
      expect(line).toMatch(/; SameSite=Lax/);
      expect(line).not.toMatch(/Domain=/i);
      expect(line).not.toMatch(/Max-Age/);
      if (!line.startsWith(`${CSRF}=`)) expect(line).toMatch(/; HttpOnly/);
    }
    const rememberLogin = await h.client().login(name, PASSWORD, true);
    for (const line of setCookieLines(rememberLogin)) {
      const maxAge = Number(/Max-Age=(\d+)/.exec(line)?.[1]);
      expect(maxAge).toBeGreaterThan(0);
      expect(maxAge).toBeLessThanOrEqual(2_592_000);
    }
  });

  it(`works end to end (${strategy}): me, to-dos with the CSRF token, sessions`, async () => {
    const [c, name] = await signedIn();
    const me = await c.get("/auth/me");
    expect(me.statusCode).toBe(200);
    expect(me.json().user.username).toBe(name);
    expect(me.json().csrfToken).toBe(c.csrfToken);
    expect((await c.post("/api/todos", { title: "milk" })).statusCode).toBe(201);
    expect((await c.get("/api/todos")).json().todos).toHaveLength(1);
    const sessions = (await c.get("/auth/sessions")).json().sessions;
    expect(sessions[0]).toMatchObject({ strategy, current: true });
  });

  it(`bearer tokens work under ${strategy} too, and token clients are sessions like any other`, async () => {
    const [browser, name] = await signedIn();
    const api = h.client();
    const tokens = (await api.token(name)).json();
    expect((await api.bearer("GET", "/api/todos", tokens.access_token)).statusCode).toBe(200);
    const sessions = (await browser.get("/auth/sessions")).json().sessions;
    expect(sessions.map((s: { strategy: string }) => s.strategy).sort()).toEqual(["bearer", strategy].sort());
    expect((await browser.post("/auth/logout-all")).statusCode).toBe(204);
    expect((await api.bearer("GET", "/api/todos", tokens.access_token)).statusCode).toBe(401);
  });

  it(`security 12 (${strategy}): planted cookies are never adopted; pre-login values are worthless after login`, async () => {
    const [victim, name] = await signedIn();
    const before = snapshot(victim);
    const planted = browserWith({
      [AT]: "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.",
      [SID]: `${"A".repeat(22)}.${"B".repeat(43)}`,
      [RT]: `${"C".repeat(22)}.${"D".repeat(43)}`,
    });
    expect((await planted.get("/auth/me")).statusCode).toBe(401);
    const again = await victim.login(name);
    expect(again.statusCode).toBe(200);
    for (const cookie of credentialCookies) expect(victim.cookies.get(cookie)).not.toBe(before[cookie]);
    const replay = browserWith(before);
    expect((await replay.get("/auth/me")).statusCode).toBe(401);
  });

  it(`security 13 (${strategy}): tampered cookies answer 401, never 500`, async () => {
    const [c] = await signedIn();
    const values = snapshot(c);
    const at = values[AT] as string;
    for (const tampered of [
      at.slice(0, -2),
      `${at.slice(0, 30)}${at[30] === "x" ? "y" : "x"}${at.slice(31)}`,
      "x".repeat(5000),
      "ü",
    ]) {
      const response = await browserWith({ ...values, [AT]: tampered }).get("/auth/me");
      expect(response.statusCode, tampered.slice(0, 20)).toBe(401);
    }
    // An empty access cookie is a missing one: hybrid renews it from the live session.
    const empty = await browserWith({ ...values, [AT]: "" }).get("/auth/me");
    expect(empty.statusCode).toBe(strategy === "hybrid" ? 200 : 401);
    if (strategy === "jwt") {
      const bad = browserWith({ [RT]: `${values[RT]}x` }, c.csrfToken);
      const response = await bad.post("/auth/refresh");
      expect(response.statusCode).toBe(401);
      expect(response.json().error.code).toBe("invalid_grant");
    }
  });

  it(`security 16 (${strategy}): logout clears every cookie and the old values are refused`, async () => {
    const [c] = await signedIn();
    const before = snapshot(c);
    const response = await c.post("/auth/logout");
    expect(response.statusCode).toBe(204);
    const cleared = setCookieLines(response)
      .filter((l) => /Max-Age=0/.test(l))
      .map((l) => l.split("=")[0]);
    for (const name of [...credentialCookies, CSRF]) expect(cleared).toContain(name);
    expect((await browserWith(before).get("/auth/me")).statusCode).toBe(401);
    if (strategy === "jwt") {
      const refresh = await browserWith({ [RT]: before[RT] as string }, c.csrfToken).post("/auth/refresh");
      expect(refresh.statusCode).toBe(401);
    }
  });

  it(`security 18 (${strategy}): logout everywhere ends every browser of the user`, async () => {
    const [first, name] = await signedIn();
    const second = h.client();
    await second.login(name);
    expect((await first.post("/auth/logout-all")).statusCode).toBe(204);
    expect((await second.get("/auth/me")).statusCode).toBe(401);
    expect((await first.get("/auth/me")).statusCode).toBe(401);
  });

  it(`security 19 (${strategy}): a password change ends the other browsers and rotates this one`, async () => {
    const [here, name] = await signedIn();
    const elsewhere = h.client();
    await elsewhere.login(name);
    const before = snapshot(here);
    const changed = await here.post("/auth/password", {
      currentPassword: PASSWORD,
      newPassword: "a different long secret",
    });
    expect(changed.statusCode).toBe(204);
    const renewed = setCookieLines(changed).map((l) => l.split("=")[0]);
    for (const cookie of credentialCookies) expect(renewed).toContain(cookie);
    expect((await here.get("/auth/me")).statusCode).toBe(200);
    expect((await elsewhere.get("/auth/me")).statusCode).toBe(401);
    if (strategy === "hybrid") {
      expect((await browserWith({ [SID]: before[SID] as string }).get("/auth/me")).statusCode).toBe(401);
    } else {
      const old = await browserWith({ [RT]: before[RT] as string }, here.csrfToken).post("/auth/refresh");
      expect(old.statusCode).toBe(401);
    }
  });

  it(`security 22-24 (${strategy}): cross-site requests and missing or foreign CSRF tokens are refused`, async () => {
    const [alice] = await signedIn();
    const [bob] = await signedIn();
    expect((await alice.post("/api/todos", { title: "x" }, { origin: "https://evil.example" })).statusCode).toBe(403);
    expect((await alice.post("/api/todos", { title: "x" }, { "sec-fetch-site": "cross-site" })).statusCode).toBe(403);
    const missing = await alice.request({ method: "POST", url: "/api/todos", body: { title: "x" }, csrf: false });
    expect(missing.json().error.code).toBe("csrf_failed");
    const foreign = await alice.post("/api/todos", { title: "x" }, { "x-csrf-token": bob.csrfToken as string });
    expect(foreign.json().error.code).toBe("csrf_failed");
    const plain = await alice.request({
      method: "POST",
      url: "/api/todos",
      body: "title=x",
      headers: { "content-type": "text/plain" },
    });
    expect(plain.statusCode).toBe(415);
    expect((await alice.get("/api/todos")).json().todos).toHaveLength(0);
  });

  if (strategy === "jwt") {
    it("jwt: an expired access cookie answers 401; the refresh cookie (with the CSRF token) renews both", async () => {
      const [c] = await signedIn();
      h.clock.advance(606_000);
      expect((await c.get("/api/todos")).statusCode).toBe(401);
      const noCsrf = await c.request({ method: "POST", url: "/auth/refresh", csrf: false });
      expect(noCsrf.statusCode).toBe(403);
      const oldRt = c.cookies.get(RT);
      const refreshed = await c.post("/auth/refresh");
      expect(refreshed.statusCode).toBe(200);
      expect(refreshed.json()).toEqual({ token_type: "Bearer", expires_in: 600 });
      expect(refreshed.body).not.toContain(c.cookies.get(RT) as string);
      expect(c.cookies.get(RT)).not.toBe(oldRt);
      expect((await c.get("/api/todos")).statusCode).toBe(200);
    });

    it("jwt: two tabs refreshing at once stay signed in; the loser's answer touches no cookie", async () => {
      const [c] = await signedIn();
      h.clock.advance(606_000);
      const [a, b] = await Promise.all([
        c.request({ method: "POST", url: "/auth/refresh" }),
        c.request({ method: "POST", url: "/auth/refresh" }),
      ]);
      const statuses = [a.statusCode, b.statusCode].sort();
      expect(statuses).toEqual([200, 401]);
      const loser = a.statusCode === 401 ? a : b;
      expect(loser.headers["set-cookie"]).toBeUndefined();
      expect((await c.get("/auth/me")).statusCode).toBe(200);
    });
  }

  if (strategy === "hybrid") {
    it("hybrid: an expired access cookie is renewed on the same response while the session lives", async () => {
      const [c] = await signedIn();
      const oldAt = c.cookies.get(AT);
      h.clock.advance(606_000);
      const response = await c.get("/api/todos");
      expect(response.statusCode).toBe(200);
      expect(setCookieLines(response).some((l) => l.startsWith(`${AT}=`))).toBe(true);
      expect(c.cookies.get(AT)).not.toBe(oldAt);
      // Without the access cookie at all, the session renews it too.
      c.cookies.delete(AT);
      expect((await c.get("/auth/me")).statusCode).toBe(200);
      expect(c.cookies.get(AT)).toBeDefined();
    });

    it("hybrid: an ended session never renews", async () => {
      const [c] = await signedIn();
      const values = snapshot(c);
      await c.post("/auth/logout");
      h.clock.advance(606_000);
      const response = await browserWith(values).get("/api/todos");
      expect(response.statusCode).toBe(401);
      expect(response.headers["set-cookie"]).toBeUndefined();
    });
  }
});
