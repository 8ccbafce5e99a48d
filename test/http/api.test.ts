/**
 * The contract's endpoints (section 4) and their error codes (section 3).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Client, type Harness, ORIGIN, PASSWORD, startHarness, uniqueName } from "../helpers/harness.js";

const isoTime = expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

describe("HTTP API", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.close());

  const loggedIn = async (): Promise<[Client, string]> => {
    const c = h.client();
    const name = uniqueName();
    await c.signUpAndLogIn(name);
    return [c, name];
  };

  describe("health and documents", () => {
    it("GET /healthz answers 200 ok", async () => {
      const response = await h.app.inject({ method: "GET", url: "/healthz" });
      expect(response.statusCode).toBe(200);
      expect(response.json()).toEqual({ status: "ok" });
    });

    it("serves an OpenAPI 3.1 document with every route", async () => {
      const doc = (await h.app.inject({ method: "GET", url: "/openapi.json" })).json();
      expect(doc.openapi).toBe("3.1.0");
      for (const path of [
        "/auth/register",
        "/auth/login",
        "/auth/logout",
        "/auth/logout-all",
        "/auth/me",
        "/auth/sessions",
        "/auth/sessions/{id}",
        "/auth/events",
        "/auth/password",
        "/auth/account",
        "/api/todos",
        "/api/todos/{id}",
      ]) {
        expect(doc.paths, path).toHaveProperty([path]);
      }
      expect(doc.paths["/auth/login"].post.requestBody).toBeDefined();
      const docs = await h.app.inject({ method: "GET", url: "/docs" });
      expect(docs.statusCode).toBeLessThan(400);
    });
  });

  describe("accounts", () => {
    it("registers without logging in, with a normalised unique username", async () => {
      const c = h.client();
      const base = uniqueName();
      const response = await c.register(base.toUpperCase());
      expect(response.statusCode).toBe(201);
      expect(response.json().user).toEqual({ id: expect.any(String), username: base, createdAt: isoTime });
      expect(response.headers["set-cookie"]).toBeUndefined();
      const fullWidth = [...base]
        .map((ch) => (/[a-z0-9]/.test(ch) ? String.fromCharCode(ch.charCodeAt(0) + 0xfee0) : ch))
        .join("");
      const taken = await c.register(fullWidth);
      expect(taken.statusCode).toBe(409);
      expect(taken.json().error.code).toBe("username_taken");
    });

    it("refuses bad usernames with invalid_request", async () => {
      for (const name of ["ab", "has space", "x".repeat(33), "semi;colon"]) {
        const response = await h.client().register(name);
        expect(response.statusCode, name).toBe(400);
        expect(response.json().error.code).toBe("invalid_request");
      }
    });

    it("logs in with the username in any case or width", async () => {
      const name = uniqueName();
      await h.client().register(name);
      const response = await h.client().login(name.toUpperCase());
      expect(response.statusCode).toBe(200);
      const body = response.json();
      expect(body.user.username).toBe(name);
      expect(body.session).toEqual({
        id: expect.any(String),
        strategy: "session",
        createdAt: isoTime,
        lastSeenAt: isoTime,
        expiresAt: isoTime,
        idleExpiresAt: isoTime,
        ip: "127.0.0.1",
        userAgent: expect.stringContaining("Mozilla"),
        device: { browser: "Chrome 130", os: "Linux", type: "desktop" },
        current: true,
        authTime: body.session.createdAt,
        amr: ["pwd"],
      });
      expect(body.csrfToken).toEqual(expect.any(String));
    });

    it("re-hashes a password stored with weaker parameters on login", async () => {
      const { argon2Hasher } = await import("../../packages/latchkey/src/core/password-hasher.js");
      const weak = argon2Hasher({ memoryCost: 8192, timeCost: 1, parallelism: 1 }, { allowWeak: true });
      const name = uniqueName();
      await h.client().register(name);
      const user = (await h.stores.users.findByUsername(name))!;
      await h.stores.users.updatePasswordHash(user.id, await weak.hash(PASSWORD));
      expect((await h.client().login(name)).statusCode).toBe(200);
      const after = (await h.stores.users.findByUsername(name))!;
      expect(after.passwordHash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
      expect((await h.client().login(name)).statusCode).toBe(200);
    });

    it("GET /auth/me gives the user, the session and the CSRF token", async () => {
      const [c, name] = await loggedIn();
      const me = (await c.get("/auth/me")).json();
      expect(me.user.username).toBe(name);
      expect(me.session.current).toBe(true);
      expect(me.csrfToken).toBe(c.csrfToken);
    });

    it("lists sessions newest first with the current one marked, and revokes one", async () => {
      const name = uniqueName();
      const first = h.client({ userAgent: "first-device" });
      await first.signUpAndLogIn(name);
      h.clock.advance(1000);
      const second = h.client({ userAgent: "second-device" });
      await second.login(name);
      const sessions = (await second.get("/auth/sessions")).json().sessions;
      expect(sessions.map((s: { userAgent: string }) => s.userAgent)).toEqual(["second-device", "first-device"]);
      expect(sessions.map((s: { current: boolean }) => s.current)).toEqual([true, false]);
      const firstId = sessions[1].id;
      const revoked = await second.request({ method: "DELETE", url: `/auth/sessions/${firstId}` });
      expect(revoked.statusCode).toBe(204);
      expect((await first.get("/auth/me")).statusCode).toBe(401);
      expect((await second.request({ method: "DELETE", url: `/auth/sessions/${firstId}` })).statusCode).toBe(404);
      expect((await second.get("/auth/sessions")).json().sessions).toHaveLength(1);
    });

    it("records security events, newest first", async () => {
      const name = uniqueName();
      const c = h.client({ ip: "10.20.0.1" });
      await c.register(name);
      await c.login(name, "a wrong password");
      await c.login(name);
      const other = h.client();
      await other.login(name);
      const otherId = (await other.get("/auth/me")).json().session.id;
      await c.request({ method: "DELETE", url: `/auth/sessions/${otherId}` });
      await c.post("/auth/password", { currentPassword: PASSWORD, newPassword: "yet another passphrase" });
      await c.post("/auth/logout");
      await c.login(name, "yet another passphrase");
      await c.post("/auth/logout-all");
      await c.login(name, "yet another passphrase");
      const events = (await c.get("/auth/events")).json().events;
      expect(events.map((e: { type: string }) => e.type)).toEqual([
        "login",
        "logout_all",
        "login",
        "logout",
        "password_changed",
        "session_revoked",
        "login",
        "login",
        "login_failed",
      ]);
      expect(events[8]).toEqual({
        id: expect.any(String),
        type: "login_failed",
        at: isoTime,
        ip: "10.20.0.1",
        userAgent: expect.any(String),
      });
      expect(events[0].sessionId).toEqual(expect.any(String));
    });

    it("keeps a user's events to themselves", async () => {
      const [alice] = await loggedIn();
      const [bob, bobName] = await loggedIn();
      await h.client().login(bobName, "wrong wrong wrong");
      const aliceEvents = (await alice.get("/auth/events")).json().events;
      expect(aliceEvents).toHaveLength(1);
      expect((await bob.get("/auth/events")).json().events).toHaveLength(2);
    });

    it("deletes the account with its data; a wrong password deletes nothing", async () => {
      const [c, name] = await loggedIn();
      await c.post("/api/todos", { title: "keep me?" });
      const wrong = await c.request({ method: "DELETE", url: "/auth/account", body: { password: "not my password" } });
      expect(wrong.statusCode).toBe(401);
      expect((await c.get("/api/todos")).json().todos).toHaveLength(1);
      const user = (await h.stores.users.findByUsername(name))!;
      const deleted = await c.request({ method: "DELETE", url: "/auth/account", body: { password: PASSWORD } });
      expect(deleted.statusCode).toBe(204);
      expect(await h.stores.users.findByUsername(name)).toBeNull();
      expect(await h.server.todos.list(user.id)).toEqual([]);
      expect((await h.client().register(name)).statusCode).toBe(201);
    });
  });

  describe("to-dos", () => {
    it("adds, lists, edits, toggles and deletes the caller's to-dos", async () => {
      const [c] = await loggedIn();
      const added = await c.post("/api/todos", { title: "buy milk" });
      expect(added.statusCode).toBe(201);
      const todo = added.json().todo;
      expect(todo).toEqual({
        id: expect.any(String),
        title: "buy milk",
        done: false,
        createdAt: isoTime,
        updatedAt: isoTime,
      });
      await c.post("/api/todos", { title: "walk the dog" });
      h.clock.advance(5000);
      const patched = await c.request({
        method: "PATCH",
        url: `/api/todos/${todo.id}`,
        body: { done: true, title: "buy oat milk" },
      });
      expect(patched.statusCode).toBe(200);
      expect(patched.json().todo).toMatchObject({ title: "buy oat milk", done: true });
      expect(patched.json().todo.updatedAt).not.toBe(todo.updatedAt);
      const list = (await c.get("/api/todos")).json().todos;
      expect(list.map((t: { title: string }) => t.title)).toEqual(["buy oat milk", "walk the dog"]);
      expect((await c.request({ method: "DELETE", url: `/api/todos/${todo.id}` })).statusCode).toBe(204);
      expect((await c.get("/api/todos")).json().todos).toHaveLength(1);
    });

    it("answers 404 for another user's to-do and leaves it alone", async () => {
      const [alice] = await loggedIn();
      const [bob] = await loggedIn();
      const id = (await alice.post("/api/todos", { title: "private" })).json().todo.id;
      const patch = await bob.request({ method: "PATCH", url: `/api/todos/${id}`, body: { done: true } });
      expect(patch.statusCode).toBe(404);
      expect(patch.json().error.code).toBe("not_found");
      expect((await bob.request({ method: "DELETE", url: `/api/todos/${id}` })).statusCode).toBe(404);
      expect((await bob.get("/api/todos")).json().todos).toEqual([]);
      expect((await alice.get("/api/todos")).json().todos[0]).toMatchObject({ title: "private", done: false });
    });

    it("validates titles: 1 to 500 characters, strings only", async () => {
      const [c] = await loggedIn();
      for (const body of [{ title: "" }, { title: "x".repeat(501) }, { title: 5 }, {}, { title: ["x"] }]) {
        const response = await c.post("/api/todos", body);
        expect(response.statusCode, JSON.stringify(body).slice(0, 30)).toBe(400);
        expect(response.json().error.code).toBe("invalid_request");
      }
      expect((await c.post("/api/todos", { title: "x".repeat(500) })).statusCode).toBe(201);
      const id = (await c.get("/api/todos")).json().todos[0].id;
      const badPatch = await c.request({ method: "PATCH", url: `/api/todos/${id}`, body: { done: "yes" } });
      expect(badPatch.statusCode).toBe(400);
    });
  });

  describe("error codes of every endpoint", () => {
    const protectedRoutes: Array<[string, string, unknown?]> = [
      ["GET", "/auth/me"],
      ["GET", "/auth/sessions"],
      ["DELETE", "/auth/sessions/abc"],
      ["GET", "/auth/events"],
      ["POST", "/auth/password", { currentPassword: PASSWORD, newPassword: "whatever it is now" }],
      ["DELETE", "/auth/account", { password: PASSWORD }],
      ["POST", "/auth/logout-all"],
      ["GET", "/api/todos"],
      ["POST", "/api/todos", { title: "x" }],
      ["PATCH", "/api/todos/abc", { done: true }],
      ["DELETE", "/api/todos/abc"],
    ];

    it.each(protectedRoutes)("%s %s without a credential: 401 unauthenticated", async (method, url, body) => {
      const response = await h.client().request({ method: method as "GET", url, body });
      expect(response.statusCode).toBe(401);
      expect(response.json()).toEqual({ error: { code: "unauthenticated", message: expect.any(String) } });
    });

    it.each(protectedRoutes)("%s %s with a cookie but no CSRF token: 403 when unsafe", async (method, url, body) => {
      const [c] = await loggedIn();
      const response = await c.request({ method: method as "GET", url, body, csrf: false });
      if (method === "GET") expect(response.statusCode).toBe(200);
      else expect(response.json().error.code).toBe("csrf_failed");
    });

    it.each([
      ["PUT", "/auth/login"],
      ["GET", "/auth/register"],
      ["DELETE", "/auth/me"],
      ["PUT", "/api/todos"],
      ["POST", "/api/todos/abc"],
      ["PATCH", "/auth/sessions"],
    ])("%s %s: 405 method_not_allowed", async (method, url) => {
      const response = await h.app.inject({ method: method as "GET", url, headers: { origin: ORIGIN } });
      expect(response.statusCode).toBe(405);
      expect(response.json().error.code).toBe("method_not_allowed");
      expect(response.headers.allow).toBeDefined();
    });

    it("an unknown route: 404 not_found", async () => {
      for (const url of ["/nope", "/auth/nope", "/api/todos/a/b", "/.env"]) {
        const response = await h.app.inject({ method: "GET", url });
        expect(response.statusCode).toBe(404);
        expect(response.json().error.code).toBe("not_found");
      }
    });

    it("bodies over 64 KiB: 413 on every body route", async () => {
      const [c] = await loggedIn();
      for (const [method, url] of [
        ["POST", "/auth/register"],
        ["POST", "/auth/login"],
        ["POST", "/auth/password"],
        ["DELETE", "/auth/account"],
        ["POST", "/api/todos"],
        ["PATCH", "/api/todos/abc"],
      ]) {
        const response = await c.request({
          method: method as "POST",
          url: url as string,
          body: { title: "x".repeat(70_000) },
        });
        expect(response.statusCode, url).toBe(413);
        expect(response.json().error.code).toBe("payload_too_large");
      }
    });

    it("a store that fails: 503 service_unavailable and /healthz 503, never 500", async () => {
      const broken = await startHarness();
      const c = broken.client();
      await c.signUpAndLogIn(uniqueName());
      await broken.stores.close();
      const me = await c.get("/auth/me");
      expect(me.statusCode).toBe(503);
      expect(me.json().error.code).toBe("service_unavailable");
      const login = await broken.client().login("whoever");
      expect(login.statusCode).toBe(503);
      const health = await broken.app.inject({ method: "GET", url: "/healthz" });
      expect(health.statusCode).toBe(503);
      expect(health.json().status).toBe("unavailable");
      await broken.app.close();
      broken.server.auth.stop();
    });
  });
});
