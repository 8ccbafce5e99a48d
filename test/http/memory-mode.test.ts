/**
 * Issue 29, the server side of browser apps: the in-memory mode (the access token in the
 * body, the refresh token in an HttpOnly cookie only refresh and logout receive), trusted
 * origins (credentialed CORS for same-site front ends), and `hybrid`'s refresh before the
 * access cookie expires. The browser client that uses them is tested in real Chromium
 * (test/e2e/client.test.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createFetchHandler } from "../../packages/latchkey/src/adapters/fetch.js";
import {
  createAuth,
  DEFAULT_SESSION_POLICY,
  DEFAULT_THROTTLE_POLICY,
  DEFAULT_TOKEN_POLICY,
} from "../../packages/latchkey/src/core/auth.js";
import { setUpGuest } from "../../packages/latchkey/src/http/guest.js";
import { createMemoryStores } from "../../packages/latchkey/src/stores/memory/index.js";
import { ConfigError, loadConfig } from "../../packages/server/src/app/config.js";
import {
  type Client,
  type Harness,
  ORIGIN,
  PASSWORD,
  setCookieLines,
  startHarness,
  uniqueName,
} from "../helpers/harness.js";

const FRONT_END = "http://localhost:5173";
const BEARER_ONLY = "https://spa.example";
const MEMORY_HEADER = { "x-requested-with": "latchkey" };

/** Signs a new user in with `mode: memory`; the client's jar then holds the refresh cookie. */
async function memoryLogin(c: Client, headers: Record<string, string> = {}) {
  const name = uniqueName("mem");
  expect((await c.register(name)).statusCode).toBe(201);
  const response = await c.request({
    method: "POST",
    url: "/auth/login",
    body: { username: name, password: PASSWORD, mode: "memory" },
    headers,
  });
  expect(response.statusCode).toBe(200);
  return { name, response, body: response.json() as { access_token: string; session: { id: string } } };
}

function refreshWithCookie(c: Client, headers: Record<string, string> = MEMORY_HEADER) {
  return c.request({ method: "POST", url: "/auth/refresh", headers, csrf: false });
}

describe.each(["session", "jwt", "hybrid"] as const)("the in-memory mode under %s", (strategy) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ AUTH_STRATEGY: strategy, REFRESH_REUSE_LEEWAY: "10" });
  });
  afterAll(() => h.close());

  it("answers the access token in the body and sets only the refresh cookie, for the refresh and logout paths", async () => {
    const c = h.client();
    const { response, body } = await memoryLogin(c);
    expect(body).toMatchObject({
      user: { username: expect.any(String), roles: ["user"] },
      session: { strategy: "memory" },
      token_type: "Bearer",
      expires_in: 600,
      access_token: expect.any(String),
    });
    expect(body).not.toHaveProperty("csrfToken");
    const lines = setCookieLines(response).filter((line) => !line.startsWith("__Host-device="));
    expect(lines).toHaveLength(2);
    expect(lines.map((line) => line.match(/Path=([^;]+)/)?.[1])).toEqual(["/auth/refresh", "/auth/logout"]);
    for (const line of lines) {
      expect(line).toMatch(/^__Secure-mrt=[\w-]+\.[\w-]+; /);
      expect(line).toMatch(/; HttpOnly/);
      expect(line).toMatch(/; Secure/);
      expect(line).toMatch(/; SameSite=Lax/);
    }
    // No cookie of the strategy: nothing else the browser would send on its own.
    expect([...c.cookies.keys()].sort()).toEqual(["__Host-device", "__Secure-mrt"]);
    expect((await c.bearer("GET", "/api/todos", body.access_token)).statusCode).toBe(200);
  });

  it("refreshes with the cookie and the header: a new access token, the user, the cookie rotated", async () => {
    const c = h.client();
    const { body } = await memoryLogin(c);
    const before = c.cookies.get("__Secure-mrt");
    const refreshed = await refreshWithCookie(c);
    expect(refreshed.statusCode).toBe(200);
    expect(refreshed.json()).toMatchObject({
      token_type: "Bearer",
      expires_in: 600,
      access_token: expect.any(String),
      user: { id: expect.any(String), roles: ["user"] },
    });
    expect(refreshed.json()).not.toHaveProperty("refresh_token");
    expect(refreshed.json().access_token).not.toBe(body.access_token);
    expect(c.cookies.get("__Secure-mrt")).not.toBe(before);
    expect(setCookieLines(refreshed).filter((l) => l.startsWith("__Secure-mrt="))).toHaveLength(2);
  });

  it("refuses the cookie without the header (a form could send it) and leaves the session alive", async () => {
    const c = h.client();
    const { body } = await memoryLogin(c);
    const forged = await refreshWithCookie(c, {});
    expect(forged.statusCode).toBe(403);
    expect(forged.json().error.code).toBe("csrf_failed");
    expect((await c.bearer("GET", "/auth/me", body.access_token)).statusCode).toBe(200);
    expect((await refreshWithCookie(c)).statusCode).toBe(200);
  });

  it("refuses the cookie from another origin, and from a bearer-only CORS origin", async () => {
    const c = h.client();
    await memoryLogin(c);
    for (const origin of ["https://evil.example", BEARER_ONLY]) {
      const refused = await refreshWithCookie(c, { ...MEMORY_HEADER, origin });
      expect(refused.statusCode).toBe(403);
      expect(refused.json().error.code).toBe("forbidden_origin");
    }
    const crossSite = await refreshWithCookie(c, { ...MEMORY_HEADER, "sec-fetch-site": "cross-site" });
    expect(crossSite.json().error.code).toBe("forbidden_origin");
    expect((await refreshWithCookie(c)).statusCode).toBe(200);
  });

  it("a refresh cookie replayed after its rotation ends the session; a duplicate inside the leeway does not", async () => {
    const c = h.client();
    const { name } = await memoryLogin(c);
    const first = c.cookies.get("__Secure-mrt") as string;
    const rotated = await refreshWithCookie(c);
    const access = rotated.json().access_token as string;
    // A racing second tab with the old cookie, inside the leeway: refused, nothing ends.
    const racing = h.client();
    racing.cookies.set("__Secure-mrt", first);
    const duplicate = await refreshWithCookie(racing);
    expect(duplicate.statusCode).toBe(401);
    expect(duplicate.json().error.code).toBe("invalid_grant");
    expect(setCookieLines(duplicate)).toEqual([]);
    expect((await c.bearer("GET", "/auth/me", access)).statusCode).toBe(200);
    // The same copy after the leeway is theft: the whole session ends.
    h.clock.advance(11_000);
    const thief = h.client();
    thief.cookies.set("__Secure-mrt", first);
    const theft = await refreshWithCookie(thief);
    expect(theft.statusCode).toBe(401);
    expect(theft.json().error.code).toBe("invalid_grant");
    expect((await c.bearer("GET", "/auth/me", access)).statusCode).toBe(401);
    expect((await refreshWithCookie(c)).statusCode).toBe(401);
    const fresh = (await h.client().token(name)).json().access_token as string;
    const events = (await c.bearer("GET", "/auth/events", fresh)).json().events as { type: string }[];
    expect(events.map((e) => e.type)).toContain("refresh_reuse_detected");
  });

  it("logs out with the cookie and the header (no access token needed), clearing both paths", async () => {
    const c = h.client();
    const { body } = await memoryLogin(c);
    const refused = await c.request({ method: "POST", url: "/auth/logout", csrf: false });
    expect(refused.statusCode).toBe(403);
    expect(refused.json().error.code).toBe("csrf_failed");
    const cookie = c.cookies.get("__Secure-mrt");
    const out = await c.request({ method: "POST", url: "/auth/logout", headers: MEMORY_HEADER, csrf: false });
    expect(out.statusCode).toBe(204);
    const cleared = setCookieLines(out).filter((l) => l.startsWith("__Secure-mrt=;"));
    expect(cleared.map((l) => l.match(/Path=([^;]+)/)?.[1]).sort()).toEqual(["/auth/logout", "/auth/refresh"]);
    for (const line of cleared) expect(line).toMatch(/Max-Age=0/);
    expect((await c.bearer("GET", "/auth/me", body.access_token)).statusCode).toBe(401);
    const replay = h.client();
    replay.cookies.set("__Secure-mrt", cookie as string);
    expect((await refreshWithCookie(replay)).statusCode).toBe(401);
  });
});

describe("a browser holding both kinds of credential (a memory-mode app and a cookie session on one latchkey)", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ AUTH_STRATEGY: "hybrid" });
  });
  afterAll(() => h.close());

  /** One jar with a memory session and a cookie session of the same user. */
  async function both() {
    const c = h.client();
    const { name, body } = await memoryLogin(c);
    const cookieLogin = await c.login(name);
    expect(cookieLogin.statusCode).toBe(200);
    return { c, access: body.access_token, memoryCookie: c.cookies.get("__Secure-mrt") as string };
  }
  const cleared = (lines: string[], name: string) => lines.filter((l) => l.startsWith(`${name}=;`));

  it("a cookie-mode logout (its CSRF token) ends the cookie session and leaves the memory one, cookie included", async () => {
    const { c, access } = await both();
    const out = await c.request({ method: "POST", url: "/auth/logout" });
    expect(out.statusCode).toBe(204);
    expect(cleared(setCookieLines(out), "__Host-sid")).toHaveLength(1);
    expect(cleared(setCookieLines(out), "__Secure-mrt")).toEqual([]);
    expect((await c.get("/auth/me")).statusCode).toBe(401);
    expect((await c.bearer("GET", "/auth/me", access)).statusCode).toBe(200);
    expect((await refreshWithCookie(c)).statusCode).toBe(200);
  });

  it("a memory-mode logout (X-Requested-With, no CSRF token) ends the memory session and leaves the cookie one", async () => {
    const { c, access } = await both();
    const out = await c.request({ method: "POST", url: "/auth/logout", headers: MEMORY_HEADER, csrf: false });
    expect(out.statusCode).toBe(204);
    expect(cleared(setCookieLines(out), "__Secure-mrt")).toHaveLength(2);
    expect(cleared(setCookieLines(out), "__Host-sid")).toEqual([]);
    expect((await c.bearer("GET", "/auth/me", access)).statusCode).toBe(401);
    expect((await c.get("/auth/me")).statusCode).toBe(200);
  });

  it("with a bearer token and a cookie session it has no CSRF token for, only the bearer's session ends", async () => {
    const { c, access } = await both();
    const out = await c.request({
      method: "POST",
      url: "/auth/logout",
      headers: { authorization: `Bearer ${access}` },
      csrf: false,
    });
    expect(out.statusCode).toBe(204);
    expect(cleared(setCookieLines(out), "__Host-sid")).toEqual([]);
    expect((await c.get("/auth/me")).statusCode).toBe(200);
  });

  it("a failed memory refresh clears only the memory cookie", async () => {
    const { c, memoryCookie } = await both();
    expect((await refreshWithCookie(c)).statusCode).toBe(200);
    h.clock.advance(11_000);
    const thief = h.client();
    thief.cookies.set("__Secure-mrt", memoryCookie);
    thief.cookies.set("__Host-sid", c.cookies.get("__Host-sid") as string);
    const theft = await refreshWithCookie(thief);
    expect(theft.statusCode).toBe(401);
    expect(cleared(setCookieLines(theft), "__Secure-mrt")).toHaveLength(2);
    expect(cleared(setCookieLines(theft), "__Host-sid")).toEqual([]);
  });

  it("a memory cookie that proves nothing (forged) is no error at logout, as a forged session cookie is not", async () => {
    const c = h.client();
    c.cookies.set("__Secure-mrt", "forged.value");
    const out = await c.request({ method: "POST", url: "/auth/logout", csrf: false });
    expect(out.statusCode).toBe(204);
  });

  it("the memory refresh names the session, so a page learns when another page of the browser signed in as someone else", async () => {
    const { c } = await both();
    const refreshed = (await refreshWithCookie(c)).json();
    expect(refreshed.session).toMatchObject({ id: expect.any(String), strategy: "memory" });
  });
});

describe("trusted origins (credentialed CORS for same-site front ends)", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ AUTH_STRATEGY: "jwt", TRUSTED_ORIGINS: FRONT_END, CORS_ORIGINS: BEARER_ONLY });
  });
  afterAll(() => h.close());

  const preflight = (path: string, origin: string, headers = "content-type, x-csrf-token") =>
    h.app.inject({
      method: "OPTIONS",
      url: path,
      headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": headers },
    });

  it("answers a trusted origin's preflights with credentials, its origin echoed and Vary: Origin, on latchkey's routes and the API", async () => {
    for (const path of ["/auth/login", "/auth/refresh", "/api/todos"]) {
      const answer = await preflight(path, FRONT_END);
      expect(answer.statusCode).toBe(204);
      expect(answer.headers["access-control-allow-origin"]).toBe(FRONT_END);
      expect(answer.headers["access-control-allow-credentials"]).toBe("true");
      expect(String(answer.headers["access-control-allow-headers"])).toMatch(/x-csrf-token/);
      expect(String(answer.headers["access-control-allow-headers"])).toMatch(/x-requested-with/);
      expect(String(answer.headers.vary)).toMatch(/Origin/);
    }
    // A bearer-only origin: CORS without credentials; another origin: no CORS at all.
    const bearer = await preflight("/api/todos", BEARER_ONLY, "authorization");
    expect(bearer.headers["access-control-allow-origin"]).toBe(BEARER_ONLY);
    expect(bearer.headers["access-control-allow-credentials"]).toBeUndefined();
    const other = await preflight("/api/todos", "https://evil.example");
    expect(other.headers["access-control-allow-origin"]).toBeUndefined();
  });

  it("lets a trusted origin sign in with cookies and make cookie requests bound by the CSRF token", async () => {
    const c = h.client();
    const name = uniqueName("front");
    await c.register(name);
    const login = await c.request({
      method: "POST",
      url: "/auth/login",
      body: { username: name, password: PASSWORD },
      headers: { origin: FRONT_END, "sec-fetch-site": "same-site" },
    });
    expect(login.statusCode).toBe(200);
    expect(login.headers["access-control-allow-origin"]).toBe(FRONT_END);
    expect(login.headers["access-control-allow-credentials"]).toBe("true");
    expect(login.json().accessExpiresIn).toBe(600);
    c.csrfToken = login.json().csrfToken;
    const headers = { origin: FRONT_END, "sec-fetch-site": "same-site" };
    const created = await c.request({
      method: "POST",
      url: "/api/todos",
      body: { title: "from the front end" },
      headers,
    });
    expect(created.statusCode).toBe(201);
    expect(created.headers["access-control-allow-credentials"]).toBe("true");
    const noToken = await c.request({ method: "POST", url: "/api/todos", body: { title: "x" }, headers, csrf: false });
    expect(noToken.statusCode).toBe(403);
    expect(noToken.json().error.code).toBe("csrf_failed");
    const refreshed = await c.request({ method: "POST", url: "/auth/refresh", headers });
    expect(refreshed.statusCode).toBe(200);
    // The same cookies from a bearer-only origin or another site are refused.
    for (const origin of [BEARER_ONLY, "https://evil.example"]) {
      const refused = await c.request({ method: "POST", url: "/api/todos", body: { title: "x" }, headers: { origin } });
      expect(refused.statusCode).toBe(403);
      expect(refused.json().error.code).toBe("forbidden_origin");
      const refresh = await c.request({ method: "POST", url: "/auth/refresh", headers: { origin } });
      expect(refresh.json().error.code).toBe("forbidden_origin");
    }
    // Trusted is same-site: the browser's own word that it is not is believed.
    const crossSite = await c.request({
      method: "POST",
      url: "/api/todos",
      body: { title: "x" },
      headers: { origin: FRONT_END, "sec-fetch-site": "cross-site" },
    });
    expect(crossSite.json().error.code).toBe("forbidden_origin");
  });

  it("GET /auth/csrf reflects the CSRF cookie to a page that cannot read it (a trusted origin, a reload under jwt)", async () => {
    const c = h.client();
    const name = uniqueName("csrf");
    await c.register(name);
    const login = await c.request({
      method: "POST",
      url: "/auth/login",
      body: { username: name, password: PASSWORD },
      headers: { origin: FRONT_END },
    });
    const answer = await c.request({ method: "GET", url: "/auth/csrf", headers: { origin: FRONT_END } });
    expect(answer.statusCode).toBe(200);
    expect(answer.json()).toEqual({ csrfToken: login.json().csrfToken });
    expect(answer.headers["access-control-allow-credentials"]).toBe("true");
    expect(answer.headers["cache-control"]).toBe("no-store");
    // Once the access cookie has expired, /auth/me refuses; the reflected token still lets the refresh through.
    h.clock.advance(610_000); // past ACCESS_TOKEN_TTL and CLOCK_TOLERANCE
    expect((await c.get("/auth/me")).statusCode).toBe(401);
    c.csrfToken = (await c.get("/auth/csrf")).json().csrfToken;
    expect((await c.post("/auth/refresh")).statusCode).toBe(200);
    expect((await c.get("/auth/me")).statusCode).toBe(200);
    const stranger = await h.client().get("/auth/csrf");
    expect(stranger.statusCode).toBe(401);
    expect(stranger.json().error.code).toBe("unauthenticated");
  });

  it("refuses a cross-site trusted origin at start, saying why (server setting and library option)", () => {
    const settings = { DATABASE_URL: "sqlite::memory:", PUBLIC_ORIGIN: "https://auth.example.com" };
    expect(() => loadConfig({ ...settings, TRUSTED_ORIGINS: "https://app.example.com,http://localhost:5173" })).toThrow(
      /TRUSTED_ORIGINS.*http:\/\/localhost:5173 is another site/,
    );
    expect(() => loadConfig({ ...settings, TRUSTED_ORIGINS: "http://app.example.com" })).toThrow(ConfigError);
    expect(() => loadConfig({ ...settings, TRUSTED_ORIGINS: "https://a.github.io" })).toThrow(ConfigError);
    // A trailing dot is another host to the browser's cookie jar.
    expect(() => loadConfig({ ...settings, TRUSTED_ORIGINS: "https://app.example.com." })).toThrow(ConfigError);
    expect(() => loadConfig({ ...settings, TRUSTED_ORIGINS: "https://auth.example.com." })).toThrow(ConfigError);
    expect(loadConfig({ ...settings, TRUSTED_ORIGINS: "https://app.example.com" }).trustedOrigins).toEqual([
      "https://app.example.com",
    ]);
    // Unset PUBLIC_ORIGIN is http://localhost:PORT: another port of localhost is the same site.
    expect(loadConfig({ DATABASE_URL: "sqlite::memory:", TRUSTED_ORIGINS: FRONT_END }).trustedOrigins).toEqual([
      FRONT_END,
    ]);
  });

  it("library: trustedOrigins of another site, or not an array, is a TypeError at start", async () => {
    const auth = await createAuth({
      stores: createMemoryStores(),
      sessions: DEFAULT_SESSION_POLICY,
      throttle: DEFAULT_THROTTLE_POLICY,
      tokens: { ...DEFAULT_TOKEN_POLICY, issuer: "https://b.github.io" },
    });
    try {
      expect(() =>
        setUpGuest({ auth, publicOrigin: "https://b.github.io", trustedOrigins: ["https://a.github.io"] }),
      ).toThrow(/trustedOrigins\[0\] "https:\/\/a.github.io" is another site/);
      expect(() =>
        setUpGuest({ auth, publicOrigin: "https://b.github.io", trustedOrigins: "https://x.b.github.io" as never }),
      ).toThrow(/option trustedOrigins must be an array/);
      expect(() => setUpGuest({ auth, publicOrigin: ORIGIN, trustedOrigins: [ORIGIN] })).toThrow(/publicOrigin itself/);
      expect(setUpGuest({ auth, publicOrigin: ORIGIN, trustedOrigins: [FRONT_END] }).trustedOrigins).toEqual(
        new Set([FRONT_END]),
      );
    } finally {
      await auth.close();
    }
  });
});

describe("hybrid: the access cookie refreshed before it expires", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ AUTH_STRATEGY: "hybrid" });
  });
  afterAll(() => h.close());

  it("POST /auth/refresh with the session cookie and the CSRF token sets a new access cookie; /auth/me says when it expires", async () => {
    const c = h.client();
    const login = await c.signUpAndLogIn(uniqueName("hy"));
    expect((login as { accessExpiresIn?: number }).accessExpiresIn).toBe(600);
    h.clock.advance(100_000);
    expect((await c.get("/auth/me")).json().accessExpiresIn).toBe(500);
    const before = c.cookies.get("__Host-at");
    const refused = await c.request({ method: "POST", url: "/auth/refresh", csrf: false });
    expect(refused.statusCode).toBe(403);
    expect(refused.json().error.code).toBe("csrf_failed");
    const refreshed = await c.post("/auth/refresh");
    expect(refreshed.statusCode).toBe(200);
    expect(refreshed.json()).toEqual({ token_type: "Bearer", expires_in: 600 });
    const lines = setCookieLines(refreshed);
    expect(lines.filter((l) => l.startsWith("__Host-at="))).toHaveLength(1);
    expect(c.cookies.get("__Host-at")).not.toBe(before);
    expect((await c.get("/auth/me")).json().accessExpiresIn).toBe(600);
    // Without a session cookie it is the refresh endpoint's invalid_grant.
    const stranger = await h.client().request({ method: "POST", url: "/auth/refresh" });
    expect(stranger.statusCode).toBe(401);
    expect(stranger.json().error.code).toBe("invalid_grant");
  });

  it("a session that has ended refreshes nothing", async () => {
    const c = h.client();
    await c.signUpAndLogIn(uniqueName("hy"));
    const csrf = c.csrfToken as string;
    const jar = new Map(c.cookies);
    expect((await c.post("/auth/logout")).statusCode).toBe(204);
    const replay = h.client();
    for (const [k, v] of jar) replay.cookies.set(k, v);
    replay.csrfToken = csrf;
    const refused = await replay.post("/auth/refresh");
    expect(refused.statusCode).toBe(401);
  });
});

describe("the in-memory mode under a prefix (the fetch adapter)", () => {
  it("scopes the refresh cookie to the prefixed refresh and logout paths", async () => {
    const auth = await createAuth({
      stores: createMemoryStores(),
      sessions: DEFAULT_SESSION_POLICY,
      throttle: DEFAULT_THROTTLE_POLICY,
      tokens: { ...DEFAULT_TOKEN_POLICY, issuer: ORIGIN },
      hasher: { hash: async (p) => `plain:${p}`, verify: async (h, p) => h === `plain:${p}`, needsRehash: () => false },
    });
    const handler = createFetchHandler({ auth, publicOrigin: ORIGIN, prefix: "/api", maintenance: false });
    try {
      await auth.accounts.register("prefixed", PASSWORD);
      const response = await handler.handle(
        new Request(`${ORIGIN}/api/auth/login`, {
          method: "POST",
          headers: { "content-type": "application/json", origin: ORIGIN },
          body: JSON.stringify({ username: "prefixed", password: PASSWORD, mode: "memory" }),
        }),
        { ip: "127.0.0.1" },
      );
      expect(response?.status).toBe(200);
      const paths = (response?.headers.getSetCookie() ?? [])
        .filter((line) => line.startsWith("__Secure-mrt="))
        .map((line) => line.match(/Path=([^;]+)/)?.[1]);
      expect(paths).toEqual(["/api/auth/refresh", "/api/auth/logout"]);
    } finally {
      await handler.close();
      await auth.close();
    }
  });
});
