/**
 * Issue 14, "a guest plugin": latchkey inside someone else's Fastify app touches only its
 * own routes and the routes that ask for it (`requireAuth`). Before, registering it
 * replaced the host's error handler (Fastify warned FSTWRN004, and the host's own routes
 * answered latchkey's `internal_error`), and its origin check refused the host's
 * cross-origin webhooks.
 */
import { readFileSync } from "node:fs";
import fastifyCookie from "@fastify/cookie";
import fastifyCors from "@fastify/cors";
import Fastify, { type FastifyError } from "fastify";
import { afterEach, describe, expect, it } from "vitest";
import { latchkey } from "../../packages/latchkey/src/adapters/fastify.js";
import {
  createAuth,
  DEFAULT_SESSION_POLICY,
  DEFAULT_THROTTLE_POLICY,
  DEFAULT_TOKEN_POLICY,
} from "../../packages/latchkey/src/core/auth.js";
import { manualClock } from "../../packages/latchkey/src/core/clock.js";
import { argon2Hasher } from "../../packages/latchkey/src/core/password-hasher.js";
import { errorResponses } from "../../packages/latchkey/src/http/schemas.js";
import { createMemoryStores } from "../../packages/latchkey/src/stores/memory/index.js";
import { basic, subscribe } from "../helpers/sse.js";

const ORIGIN = "http://localhost:3000";
const PASSWORD = "correct horse battery staple";
const stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
});

async function hostApp() {
  const warnings: string[] = [];
  const onWarning = (warning: Error & { code?: string }) => warnings.push(warning.code ?? warning.message);
  process.on("warning", onWarning);
  const auth = await createAuth({
    stores: createMemoryStores(),
    hasher: argon2Hasher(),
    sessions: DEFAULT_SESSION_POLICY,
    throttle: DEFAULT_THROTTLE_POLICY,
    tokens: { ...DEFAULT_TOKEN_POLICY, issuer: ORIGIN },
  });
  const app = Fastify();
  // The host's own error format, hook and routes.
  app.setErrorHandler((error: FastifyError, _request, reply) => {
    reply.code(error.statusCode ?? 500).send({ oops: error.message });
  });
  app.addHook("onRequest", async (_request, reply) => {
    reply.header("x-host", "yes");
  });
  await app.register(latchkey, { auth, publicOrigin: ORIGIN });
  app.post("/webhooks/payments", async () => ({ received: true }));
  app.get("/boom", async () => {
    throw new Error("the host's own failure");
  });
  app.get("/api/profile", { preHandler: app.requireAuth }, async (request) => ({ userId: request.auth?.userId }));
  app.post("/api/notes", { preHandler: app.requireAuth }, async () => ({ saved: true }));
  await app.ready();
  stops.push(async () => {
    process.off("warning", onWarning);
    auth.stop();
    await app.close();
  });
  return { app, warnings };
}

describe("latchkey as a guest in a host's Fastify app", () => {
  it("leaves the host's error handler to the host's routes, without FSTWRN004", async () => {
    const { app, warnings } = await hostApp();
    const boom = await app.inject({ method: "GET", url: "/boom" });
    expect(boom.statusCode).toBe(500);
    expect(boom.json()).toEqual({ oops: "the host's own failure" });
    await new Promise((resolve) => setImmediate(resolve));
    expect(warnings.filter((w) => w === "FSTWRN004")).toEqual([]);
  });

  it("does not run its origin check on the host's routes: a cross-origin webhook is the host's business", async () => {
    const { app } = await hostApp();
    const webhook = await app.inject({
      method: "POST",
      url: "/webhooks/payments",
      payload: { event: "paid" },
      headers: { origin: "https://payments.example", "content-type": "application/json" },
    });
    expect(webhook.statusCode).toBe(200);
    expect(webhook.json()).toEqual({ received: true });
    expect(webhook.headers["x-host"]).toBe("yes");
  });

  it("guards a host route that asks for it: requireAuth refuses with a status the host's handler answers", async () => {
    const { app } = await hostApp();
    const anonymous = await app.inject({ method: "GET", url: "/api/profile" });
    expect(anonymous.statusCode).toBe(401);
    expect(anonymous.json()).toEqual({ oops: "Sign in to continue." });
    const crossSite = await app.inject({
      method: "POST",
      url: "/api/notes",
      headers: { origin: "https://evil.example" },
    });
    expect(crossSite.statusCode).toBe(403);
  });

  it("keeps the contract on its own routes: their error format and origin check", async () => {
    const { app } = await hostApp();
    const badJson = await app.inject({
      method: "POST",
      url: "/auth/login",
      payload: "{nope",
      headers: { "content-type": "application/json", origin: ORIGIN },
    });
    expect(badJson.statusCode).toBe(400);
    expect(badJson.json().error.code).toBe("invalid_request");
    const crossSite = await app.inject({
      method: "POST",
      url: "/auth/login",
      payload: { username: "x", password: "y" },
      headers: { origin: "https://evil.example" },
    });
    expect(crossSite.statusCode).toBe(403);
    expect(crossSite.json().error.code).toBe("forbidden_origin");
    // A full flow through the host's protected route.
    const headers = { origin: ORIGIN, "content-type": "application/json" };
    const body = JSON.stringify({ username: "guestuser", password: "correct horse battery staple" });
    expect((await app.inject({ method: "POST", url: "/auth/register", payload: body, headers })).statusCode).toBe(201);
    const login = await app.inject({ method: "POST", url: "/auth/login", payload: body, headers });
    const cookie = login.cookies.map((c) => `${c.name}=${c.value}`).join("; ");
    const profile = await app.inject({ method: "GET", url: "/api/profile", headers: { cookie } });
    expect(profile.statusCode).toBe(200);
    expect(profile.json().userId).toBe(login.json().user.id);
  });
});

describe("the sweep inside a host's app (issue 14: maintenance)", () => {
  it("runs by default and deletes expired sessions; stops when the app closes; can be turned off", async () => {
    const stores = createMemoryStores();
    const clock = manualClock(Date.parse("2026-03-01T12:00:00Z"));
    const auth = await createAuth({
      stores,
      clock,
      hasher: argon2Hasher(),
      sessions: { ...DEFAULT_SESSION_POLICY, idleTimeout: 60, absoluteTimeout: 120 },
      throttle: DEFAULT_THROTTLE_POLICY,
      tokens: { ...DEFAULT_TOKEN_POLICY, issuer: ORIGIN },
    });
    const user = await auth.accounts.register("sweepme", "correct horse battery staple");
    await auth.sessions.create({ userId: user.id, kind: "session", remember: false, ip: "127.0.0.1", userAgent: "t" });
    const off = Fastify();
    await off.register(latchkey, { auth, publicOrigin: ORIGIN, maintenance: false });
    await off.ready();
    clock.advance(200_000);
    await new Promise((resolve) => setTimeout(resolve, 150));
    // Switched off: the expired row is still there (`listLive(0)` lists every stored session).
    expect(await stores.sessions.listLive(0)).toHaveLength(1);
    await off.close();

    const on = Fastify();
    await on.register(latchkey, { auth, publicOrigin: ORIGIN, maintenance: { intervalMs: 20 } });
    await on.ready();
    const deadline = Date.now() + 2000;
    while ((await stores.sessions.listLive(0)).length > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(await stores.sessions.listLive(0)).toEqual([]);
    await on.close();
    auth.stop();
  });
});

/**
 * Issue 25 item 10: a host's own @fastify/cors and @fastify/cookie. latchkey registered
 * them itself, so a host that had @fastify/cors crashed at start once latchkey had
 * `corsOrigins` ("corsPreflightEnabled already added"), and one that registered
 * @fastify/cookie after latchkey crashed ("serializeCookie already added"). latchkey now
 * parses and sets its own cookies and answers its own CORS: the host's plugins are the
 * host's, and the host's CORS for a partner reaches latchkey's bearer routes.
 */
describe("latchkey beside a host's own @fastify/cors and @fastify/cookie", () => {
  const PARTNER = "https://partner.example";
  const guestCore = () =>
    createAuth({
      stores: createMemoryStores(),
      sessions: DEFAULT_SESSION_POLICY,
      throttle: DEFAULT_THROTTLE_POLICY,
      tokens: { ...DEFAULT_TOKEN_POLICY, issuer: ORIGIN },
      hasher: { hash: async (p) => `plain:${p}`, verify: async (h, p) => h === `plain:${p}`, needsRehash: () => false },
    });

  it("a host's @fastify/cors for a partner, before latchkey: the partner may call a bearer route, never a cookie route", async () => {
    const auth = await guestCore();
    await auth.accounts.register("partnered", PASSWORD, { ip: "192.0.2.1", userAgent: "" });
    const app = Fastify();
    await app.register(fastifyCors, { origin: [PARTNER], methods: ["GET", "POST"] });
    await app.register(latchkey, { auth, publicOrigin: ORIGIN, corsOrigins: [PARTNER], maintenance: false });
    app.get("/api/things", async () => ({ things: [] }));
    stops.push(async () => {
      auth.stop();
      await app.close();
    });
    await app.ready();
    const fromPartner = { origin: PARTNER, "content-type": "application/json" };
    const credentials = JSON.stringify({ username: "partnered", password: PASSWORD });
    const preflight = await app.inject({
      method: "OPTIONS",
      url: "/auth/token",
      headers: { origin: PARTNER, "access-control-request-method": "POST" },
    });
    expect(preflight.statusCode).toBeLessThan(300);
    expect(preflight.headers["access-control-allow-origin"]).toBe(PARTNER);
    const token = await app.inject({ method: "POST", url: "/auth/token", payload: credentials, headers: fromPartner });
    expect(token.statusCode).toBe(200);
    expect(token.headers["access-control-allow-origin"]).toBe(PARTNER);
    expect(String(token.headers.vary).match(/origin/gi)).toHaveLength(1);
    const login = await app.inject({ method: "POST", url: "/auth/login", payload: credentials, headers: fromPartner });
    expect(login.statusCode).toBe(403);
    expect(login.json().error.code).toBe("forbidden_origin");
    // The host's CORS on the host's route is the host's business.
    const things = await app.inject({ method: "GET", url: "/api/things", headers: { origin: PARTNER } });
    expect(things.headers["access-control-allow-origin"]).toBe(PARTNER);
  });

  it("a host's @fastify/cookie, registered after latchkey: both set and read cookies", async () => {
    const auth = await guestCore();
    const app = Fastify();
    await app.register(latchkey, { auth, publicOrigin: ORIGIN, maintenance: false });
    await app.register(fastifyCookie);
    app.get("/api/theme", { preHandler: app.requireAuth }, async (request, reply) => {
      reply.setCookie("theme", "dark", { path: "/" });
      return { theme: request.cookies.theme ?? null, user: request.auth?.userId };
    });
    stops.push(async () => {
      auth.stop();
      await app.close();
    });
    await app.ready();
    const headers = { origin: ORIGIN, "content-type": "application/json" };
    const body = JSON.stringify({ username: "cookiejar", password: PASSWORD });
    expect((await app.inject({ method: "POST", url: "/auth/register", payload: body, headers })).statusCode).toBe(201);
    const login = await app.inject({ method: "POST", url: "/auth/login", payload: body, headers });
    expect(login.statusCode).toBe(200);
    const cookie = [...login.cookies.map((c) => `${c.name}=${c.value}`), "theme=light"].join("; ");
    const theme = await app.inject({ method: "GET", url: "/api/theme", headers: { cookie } });
    expect(theme.statusCode).toBe(200);
    expect(theme.json()).toEqual({ theme: "light", user: login.json().user.id });
    expect(theme.cookies.map((c) => c.name)).toEqual(["theme"]);
  });

  it("latchkey/fastify neither needs nor loads @fastify/cors or @fastify/cookie", async () => {
    const manifest = JSON.parse(
      readFileSync(new URL("../../packages/latchkey/package.json", import.meta.url), "utf8"),
    ) as { dependencies: Record<string, string> };
    expect(Object.keys(manifest.dependencies)).not.toContain("@fastify/cors");
    expect(Object.keys(manifest.dependencies)).not.toContain("@fastify/cookie");
    const source = readFileSync(new URL("../../packages/latchkey/src/adapters/fastify.ts", import.meta.url), "utf8");
    expect(source).not.toMatch(/from "@fastify\//);
  });
});

/**
 * Review of issue 25, item 1: latchkey's shared schemas went into the host's scope under the
 * host's names (`User`, `Error`, ...). A host that added its own `Error` schema afterwards
 * crashed at start (FST_ERR_SCH_ALREADY_PRESENT); one that added it first had latchkey's
 * error bodies serialised through its schema (fields dropped). The ids are latchkey's own
 * (`latchkey.Error`), and only the error body, which `errorResponses()` offers the host's
 * routes, is in the host's scope.
 */
describe("latchkey's schemas beside a host's schemas of the same names", () => {
  const HostError = { $id: "Error", type: "object", properties: { message: { type: "string" } } };
  const HostUser = { $id: "User", type: "object", properties: { name: { type: "string" } } };

  async function guestCore() {
    return createAuth({
      stores: createMemoryStores(),
      sessions: DEFAULT_SESSION_POLICY,
      throttle: DEFAULT_THROTTLE_POLICY,
      tokens: { ...DEFAULT_TOKEN_POLICY, issuer: ORIGIN },
      hasher: { hash: async (p) => `plain:${p}`, verify: async (h, p) => h === `plain:${p}`, needsRehash: () => false },
    });
  }

  it("a host that adds its own Error and User schemas after latchkey starts, and its routes use its own", async () => {
    const auth = await guestCore();
    const app = Fastify();
    stops.push(async () => {
      auth.stop();
      await app.close();
    });
    await app.register(latchkey, { auth, publicOrigin: ORIGIN, maintenance: false });
    app.addSchema(HostError);
    app.addSchema(HostUser);
    app.get("/api/oops", { schema: { response: { 418: { $ref: "Error#" } } } }, async (_request, reply) =>
      reply.code(418).send({ message: "teapot", secret: "dropped" }),
    );
    await app.ready();
    const oops = await app.inject({ method: "GET", url: "/api/oops" });
    expect(oops.json()).toEqual({ message: "teapot" });
    expect(Object.keys(app.getSchemas()).sort()).toEqual(["Error", "User", "latchkey.Error"]);
  });

  it("a host that added them first: latchkey's answers keep their own shape ({ error: { code, message } }, the user's fields)", async () => {
    const auth = await guestCore();
    const app = Fastify();
    stops.push(async () => {
      auth.stop();
      await app.close();
    });
    app.addSchema(HostError);
    app.addSchema(HostUser);
    await app.register(latchkey, { auth, publicOrigin: ORIGIN, maintenance: false });
    await app.ready();
    const headers = { origin: ORIGIN, "content-type": "application/json" };
    const refused = await app.inject({
      method: "POST",
      url: "/auth/login",
      headers,
      payload: JSON.stringify({ username: "nobody", password: PASSWORD }),
    });
    expect(refused.statusCode).toBe(401);
    expect(refused.json()).toEqual({
      error: { code: "invalid_credentials", message: expect.any(String) },
    });
    const body = JSON.stringify({ username: "schemas", password: PASSWORD });
    const registered = await app.inject({ method: "POST", url: "/auth/register", headers, payload: body });
    expect(registered.statusCode).toBe(201);
    expect(Object.keys(registered.json().user).sort()).toEqual(["createdAt", "id", "username"]);
  });

  it("errorResponses() on a host's route refers to latchkey's error body, which serialises it", async () => {
    const auth = await guestCore();
    const app = Fastify();
    stops.push(async () => {
      auth.stop();
      await app.close();
    });
    await app.register(latchkey, { auth, publicOrigin: ORIGIN, maintenance: false });
    app.get("/api/missing", { schema: { response: errorResponses(404) } }, async (_request, reply) =>
      reply.code(404).send({ error: { code: "not_found", message: "No such note." }, extra: "dropped" }),
    );
    const missing = await app.inject({ method: "GET", url: "/api/missing" });
    expect(missing.json()).toEqual({ error: { code: "not_found", message: "No such note." } });
  });
});

/**
 * Review of issue 25, item 6: Fastify's `optionalAuth` and `requireAuthWith(options)`, as
 * Express, Hono and fetch have them.
 */
describe("Fastify's optionalAuth and requireAuthWith", () => {
  async function fastifyHost() {
    const auth = await createAuth({
      stores: createMemoryStores(),
      sessions: DEFAULT_SESSION_POLICY,
      throttle: DEFAULT_THROTTLE_POLICY,
      tokens: { ...DEFAULT_TOKEN_POLICY, issuer: ORIGIN },
      hasher: { hash: async (p) => `plain:${p}`, verify: async (h, p) => h === `plain:${p}`, needsRehash: () => false },
    });
    const app = Fastify();
    app.setErrorHandler((error: FastifyError, _request, reply) => {
      reply.code(error.statusCode ?? 500).send({ host: "error", code: error.code });
    });
    await app.register(latchkey, { auth, publicOrigin: ORIGIN, maintenance: false });
    const who = async (request: { auth: { userId: string } | null }) => ({ user: request.auth?.userId ?? null });
    app.get("/api/who", { preHandler: app.optionalAuth }, who);
    app.post("/api/who", { preHandler: app.optionalAuth }, who);
    app.get("/api/answered", { preHandler: app.requireAuthWith({ onRefusal: "answer" }) }, who);
    app.get("/api/next", { preHandler: app.requireAuthWith({ onRefusal: "next" }) }, who);
    app.get("/account/*", { preHandler: app.requireAuthWith({ redirect: "/sign-in?from=app" }) }, who);
    app.post("/account/*", { preHandler: app.requireAuthWith({ redirect: "/sign-in?from=app" }) }, who);
    await app.ready();
    stops.push(async () => {
      auth.stop();
      await app.close();
    });
    const headers = { origin: ORIGIN, "content-type": "application/json" };
    const body = JSON.stringify({ username: "optional", password: PASSWORD });
    expect((await app.inject({ method: "POST", url: "/auth/register", payload: body, headers })).statusCode).toBe(201);
    const login = await app.inject({ method: "POST", url: "/auth/login", payload: body, headers });
    const cookie = login.cookies.map((c) => `${c.name}=${c.value}`).join("; ");
    return { app, cookie, csrf: login.json().csrfToken as string, userId: login.json().user.id as string };
  }

  it("optionalAuth: anonymous, a dead cookie and a bad bearer token are null, never refused; a live session is its user", async () => {
    const { app, cookie, userId } = await fastifyHost();
    const who = async (headers: Record<string, string> = {}) => {
      const response = await app.inject({ method: "GET", url: "/api/who", headers });
      expect(response.statusCode).toBe(200);
      return response.json().user;
    };
    expect(await who()).toBeNull();
    expect(await who({ cookie: "__Host-sid=forged.secret" })).toBeNull();
    expect(await who({ authorization: "Bearer not-a-token" })).toBeNull();
    expect(await who({ cookie })).toBe(userId);
  });

  it("optionalAuth: an unsafe cookie request still needs our origin and the CSRF token (403 to the error handler); an anonymous one does not", async () => {
    const { app, cookie, csrf, userId } = await fastifyHost();
    const post = (headers: Record<string, string>) => app.inject({ method: "POST", url: "/api/who", headers });
    const noCsrf = await post({ origin: ORIGIN, cookie });
    expect([noCsrf.statusCode, noCsrf.json()]).toEqual([403, { host: "error", code: "csrf_failed" }]);
    const foreign = await post({ origin: "https://evil.example", cookie, "x-csrf-token": csrf });
    expect([foreign.statusCode, foreign.json().code]).toEqual([403, "forbidden_origin"]);
    expect((await post({ origin: ORIGIN, cookie, "x-csrf-token": csrf })).json()).toEqual({ user: userId });
    expect((await post({ origin: "https://evil.example" })).json()).toEqual({ user: null });
  });

  it('requireAuthWith({ onRefusal: "answer" }) answers in the contract\'s format; "next" hands the AuthError to the error handler', async () => {
    const { app, cookie, userId } = await fastifyHost();
    const answered = await app.inject({ method: "GET", url: "/api/answered" });
    expect([answered.statusCode, answered.headers["cache-control"], answered.json()]).toEqual([
      401,
      "no-store",
      { error: { code: "unauthenticated", message: expect.any(String) } },
    ]);
    const next = await app.inject({ method: "GET", url: "/api/next" });
    expect([next.statusCode, next.json()]).toEqual([401, { host: "error", code: "unauthenticated" }]);
    expect((await app.inject({ method: "GET", url: "/api/answered", headers: { cookie } })).json()).toEqual({
      user: userId,
    });
  });

  it("requireAuthWith({ redirect }): a GET with no session is sent to sign in with next=; other refusals are answered", async () => {
    const { app, cookie } = await fastifyHost();
    const sent = await app.inject({ method: "GET", url: "/account/notes?page=2" });
    expect(sent.statusCode).toBe(303);
    expect(sent.headers.location).toBe("/sign-in?from=app&next=%2Faccount%2Fnotes%3Fpage%3D2");
    expect(sent.headers["cache-control"]).toBe("no-store");
    const bearer = await app.inject({ method: "GET", url: "/account/x", headers: { authorization: "Bearer forged" } });
    expect([bearer.statusCode, bearer.json().error.code]).toEqual([401, "invalid_token"]);
    const unsafe = await app.inject({ method: "POST", url: "/account/x", headers: { origin: ORIGIN } });
    expect(unsafe.statusCode).toBe(401);
    expect((await app.inject({ method: "GET", url: "/account/x", headers: { cookie } })).statusCode).toBe(200);
    expect(() => app.requireAuthWith({ redirect: "//evil.example" })).toThrow(/redirect must be a path on this site/);
  });
});

/**
 * Review of issue 25, item 4: an event stream whose headers cannot be written (a host's hook
 * set one Node refuses) never held its place: the service's one stream is free again.
 */
describe("an event stream that cannot start, in Fastify", () => {
  it("frees its place in the per-service limit when writing its headers throws", async () => {
    const auth = await createAuth({
      stores: createMemoryStores(),
      sessions: DEFAULT_SESSION_POLICY,
      throttle: DEFAULT_THROTTLE_POLICY,
      tokens: { ...DEFAULT_TOKEN_POLICY, issuer: ORIGIN },
      streams: { perService: 1 },
      hasher: { hash: async (p) => `plain:${p}`, verify: async (h, p) => h === `plain:${p}`, needsRehash: () => false },
    });
    const app = Fastify();
    // A host hook that sets a header Node refuses to send (a control character) when asked:
    // latchkey's writeHead, which sends the host's headers with the stream's, then throws.
    app.addHook("onRequest", async (request, reply) => {
      if (request.headers["x-trace-bad"]) reply.header("x-trace", "a\u0001b");
    });
    await app.register(latchkey, { auth, publicOrigin: ORIGIN, maintenance: false });
    await app.listen({ port: 0, host: "127.0.0.1" });
    stops.push(async () => {
      auth.stop();
      await app.close();
    });
    const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    const { service, clientSecret } = await auth.services.create("streamer");
    const authorization = basic(service.id, clientSecret);
    const headers = { authorization, accept: "text/event-stream", "x-trace-bad": "1" };
    const broken = await fetch(`${base}/auth/revocations`, { headers })
      .then((response) => response.text())
      .catch((error: Error) => error);
    // The client gets a cut-off answer (the connection ends), never a hang.
    expect(broken).toBeInstanceOf(Error);
    expect(auth.revocations.openStreams).toBe(0);
    const stream = await subscribe(`${base}/auth/revocations`, authorization);
    expect(stream.response.status).toBe(200);
    await stream.close();
  });
});
