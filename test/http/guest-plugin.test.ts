/**
 * Issue 14, "a guest plugin": latchkey inside someone else's Fastify app touches only its
 * own routes and the routes that ask for it (`requireAuth`). Before, registering it
 * replaced the host's error handler (Fastify warned FSTWRN004, and the host's own routes
 * answered latchkey's `internal_error`), and its origin check refused the host's
 * cross-origin webhooks.
 */
import Fastify, { type FastifyError } from "fastify";
import { afterEach, describe, expect, it } from "vitest";
import {
  createAuth,
  DEFAULT_SESSION_POLICY,
  DEFAULT_THROTTLE_POLICY,
  DEFAULT_TOKEN_POLICY,
} from "../../packages/latchkey/src/core/auth.js";
import { manualClock } from "../../packages/latchkey/src/core/clock.js";
import { argon2Hasher } from "../../packages/latchkey/src/core/password-hasher.js";
import { latchkey } from "../../packages/latchkey/src/http/plugin.js";
import { createMemoryStores } from "../../packages/latchkey/src/stores/memory/index.js";

const ORIGIN = "http://localhost:3000";
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
