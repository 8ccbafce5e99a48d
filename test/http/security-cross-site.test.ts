/**
 * Security checklist lines 22-26: origin checks, CSRF tokens, bearer precedence.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Client, type Harness, ORIGIN, PASSWORD, startHarness, uniqueName } from "../helpers/harness.js";

describe("security checklist 22-26 (cross-site requests)", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ CORS_ORIGINS: "https://app.example" });
  });
  afterAll(() => h.close());

  const loggedIn = async (): Promise<Client> => {
    const c = h.client();
    await c.signUpAndLogIn(uniqueName());
    return c;
  };

  it("security 22: a cookie POST from another origin or a cross-site fetch is refused; same origin with the token passes", async () => {
    const c = await loggedIn();
    const evil = await c.post("/api/todos", { title: "x" }, { origin: "https://evil.example" });
    expect(evil.statusCode).toBe(403);
    expect(evil.json().error.code).toBe("forbidden_origin");
    const nullOrigin = await c.post("/api/todos", { title: "x" }, { origin: "null" });
    expect(nullOrigin.statusCode).toBe(403);
    const crossSite = await c.post("/api/todos", { title: "x" }, { "sec-fetch-site": "cross-site" });
    expect(crossSite.statusCode).toBe(403);
    expect(crossSite.json().error.code).toBe("forbidden_origin");
    // A CORS origin may not use cookies either.
    const corsWithCookie = await c.post("/api/todos", { title: "x" }, { origin: "https://app.example" });
    expect(corsWithCookie.statusCode).toBe(403);
    const same = await c.post("/api/todos", { title: "x" }, { origin: ORIGIN, "sec-fetch-site": "same-origin" });
    expect(same.statusCode).toBe(201);
    expect((await c.get("/api/todos")).json().todos).toHaveLength(1);
  });

  it("security 23: a cookie POST as text/plain or form-encoded is a 415", async () => {
    const c = await loggedIn();
    for (const type of ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=z"]) {
      const response = await c.request({
        method: "POST",
        url: "/api/todos",
        body: "title=x",
        headers: { "content-type": type },
      });
      expect(response.statusCode, type).toBe(415);
      expect(response.json().error.code).toBe("unsupported_media_type");
    }
    expect((await c.get("/api/todos")).json().todos).toHaveLength(0);
  });

  it("security 24: another session's token, a missing token, a token only in the cookie: 403", async () => {
    const alice = await loggedIn();
    const bob = await loggedIn();
    const foreign = await alice.post("/api/todos", { title: "x" }, { "x-csrf-token": bob.csrfToken as string });
    expect(foreign.statusCode).toBe(403);
    expect(foreign.json().error.code).toBe("csrf_failed");
    const missing = await alice.request({ method: "POST", url: "/api/todos", body: { title: "x" }, csrf: false });
    expect(missing.statusCode).toBe(403);
    expect(alice.cookies.get("__Host-csrf")).toBe(alice.csrfToken);
    const cookieOnly = await alice.request({ method: "DELETE", url: "/auth/sessions/whatever", csrf: false });
    expect(cookieOnly.statusCode).toBe(403);
    const logoutWithoutToken = await alice.request({ method: "POST", url: "/auth/logout", csrf: false });
    expect(logoutWithoutToken.statusCode).toBe(403);
    expect((await alice.get("/auth/me")).statusCode).toBe(200);
    expect((await alice.get("/api/todos")).json().todos).toHaveLength(0);
  });

  it("security 24: the token is given in the login body, in /auth/me and in the readable cookie", async () => {
    const c = h.client();
    const name = uniqueName();
    await c.register(name);
    const login = await c.login(name);
    const fromBody = login.json().csrfToken;
    expect((await c.get("/auth/me")).json().csrfToken).toBe(fromBody);
    expect(c.cookies.get("__Host-csrf")).toBe(fromBody);
  });

  it("security 25: a cross-site login is refused; GET /auth/logout changes nothing", async () => {
    const name = uniqueName();
    const c = h.client();
    await c.register(name);
    const cross = await c.post(
      "/auth/login",
      { username: name, password: PASSWORD },
      { origin: "https://evil.example" },
    );
    expect(cross.statusCode).toBe(403);
    expect(cross.json().error.code).toBe("forbidden_origin");
    expect(cross.headers["set-cookie"]).toBeUndefined();
    const register = await c.post(
      "/auth/register",
      { username: uniqueName(), password: PASSWORD },
      { "sec-fetch-site": "cross-site" },
    );
    expect(register.statusCode).toBe(403);

    const signedIn = await loggedIn();
    const get = await signedIn.get("/auth/logout");
    expect([404, 405]).toContain(get.statusCode);
    expect((await signedIn.get("/auth/me")).statusCode).toBe(200);
  });

  it("security 26: a bearer header wins over cookies, deterministically", async () => {
    const c = await loggedIn();
    for (let i = 0; i < 3; i++) {
      // Until access tokens are issued every bearer token is invalid, so the request must
      // fail although the cookie is valid: the cookie is never consulted.
      const response = await c.get("/auth/me", { authorization: "Bearer not.a.token" });
      expect(response.statusCode).toBe(401);
      expect(response.json().error.code).toBe("invalid_token");
      expect(response.headers["www-authenticate"]).toBe('Bearer error="invalid_token"');
    }
    const basic = await c.get("/auth/me", { authorization: "Basic YWxpY2U6cHc=" });
    expect(basic.statusCode).toBe(401);
    const bearerPost = await c.request({
      method: "POST",
      url: "/api/todos",
      body: { title: "x" },
      headers: { authorization: "Bearer abc" },
    });
    expect(bearerPost.statusCode).toBe(401);
    expect((await c.get("/api/todos")).json().todos).toHaveLength(0);
  });

  it("CORS: a listed origin may use /auth/token, /auth/refresh and bearer calls, never cookie routes", async () => {
    const name = uniqueName();
    const c = h.client();
    await c.register(name);
    const cors = { origin: "https://app.example", "sec-fetch-site": "cross-site" };
    const login = await c.post("/auth/login", { username: name, password: PASSWORD }, cors);
    expect(login.statusCode).toBe(403);
    const token = await c.request({
      method: "POST",
      url: "/auth/token",
      body: { username: name, password: PASSWORD },
      cookies: false,
      headers: cors,
    });
    expect(token.statusCode).toBe(200);
    expect(token.headers["access-control-allow-origin"]).toBe("https://app.example");
    const { access_token, refresh_token } = token.json();
    const todo = await c.request({
      method: "POST",
      url: "/api/todos",
      body: { title: "from the SPA" },
      cookies: false,
      headers: { ...cors, authorization: `Bearer ${access_token}` },
    });
    expect(todo.statusCode).toBe(201);
    const refreshed = await c.request({
      method: "POST",
      url: "/auth/refresh",
      body: { refresh_token },
      cookies: false,
      headers: cors,
    });
    expect(refreshed.statusCode).toBe(200);
    const evil = await c.request({
      method: "POST",
      url: "/auth/token",
      body: { username: name, password: PASSWORD },
      cookies: false,
      headers: { origin: "https://evil.example" },
    });
    expect(evil.statusCode).toBe(403);
  });

  it("CORS: listed origins get CORS headers without credentials; others get none", async () => {
    const preflight = await h.app.inject({
      method: "OPTIONS",
      url: "/api/todos",
      headers: {
        origin: "https://app.example",
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization,content-type",
      },
    });
    expect(preflight.statusCode).toBeLessThan(300);
    expect(preflight.headers["access-control-allow-origin"]).toBe("https://app.example");
    expect(preflight.headers["access-control-allow-credentials"]).toBeUndefined();
    const other = await h.app.inject({ method: "GET", url: "/healthz", headers: { origin: "https://evil.example" } });
    expect(other.headers["access-control-allow-origin"]).toBeUndefined();
  });
});
