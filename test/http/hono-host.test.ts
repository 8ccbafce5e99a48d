/**
 * latchkey in a real Hono app (issue 25): `basePath` or `app.route` without `prefix`, and
 * a middleware that reads the body before latchkey's routes, are set-up errors thrown to
 * the host's `onError`, naming their fix, and the right wiring works (item 9);
 * `optionalAuth` and `requireAuthWith` (item 15).
 */
import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import {
  type HonoLatchkey,
  type HonoOptions,
  latchkeyHono,
  type OptionalAuthEnv,
} from "../../packages/latchkey/src/adapters/hono.js";
import { AuthError } from "../../packages/latchkey/src/core/errors.js";
import { hostCore, ORIGIN, PASSWORD, recordingLog, username } from "../helpers/host-app.js";

type App = Hono<OptionalAuthEnv>;

/** A Hono app wired by `wire`, with an `onError` that shows what reached it. */
async function honoHost(wire: (app: App, latchkey: HonoLatchkey) => App, options: Partial<HonoOptions> = {}) {
  const { log, entries } = recordingLog();
  const latchkey = latchkeyHono({
    auth: await hostCore(),
    publicOrigin: ORIGIN,
    maintenance: false,
    clientAddress: () => "192.0.2.7",
    log,
    ...options,
  });
  const root: App = new Hono<OptionalAuthEnv>();
  const app = wire(root, latchkey);
  app.onError((error, c) => {
    const status = (error as { statusCode?: number }).statusCode ?? 500;
    return c.json(
      { host: "error", name: error.name, code: (error as { code?: string }).code, message: error.message },
      status as 500,
    );
  });
  const send = async (path: string, init: RequestInit = {}) => app.request(`http://localhost:3000${path}`, init);
  return { app, latchkey, entries, send };
}

/** A browser's cookie jar over `send`. */
async function signedIn(send: (path: string, init?: RequestInit) => Promise<Response>, prefix = "") {
  const jar = new Map<string, string>();
  let csrf = "";
  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const response = await send(path, {
      method,
      headers: {
        origin: ORIGIN,
        ...(body !== undefined && { "content-type": "application/json" }),
        ...(jar.size > 0 && { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join("; ") }),
        ...(csrf && method !== "GET" && { "x-csrf-token": csrf }),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    for (const line of response.headers.getSetCookie()) {
      const [name, ...value] = (line.split(";")[0] as string).split("=");
      jar.set(name as string, value.join("="));
    }
    return response;
  };
  const name = username("ho");
  expect((await call("POST", `${prefix}/auth/register`, { username: name, password: PASSWORD })).status).toBe(201);
  const login = await call("POST", `${prefix}/auth/login`, { username: name, password: PASSWORD });
  expect(login.status).toBe(200);
  const body = (await login.json()) as { csrfToken: string; user: { id: string } };
  csrf = body.csrfToken;
  return { call, userId: body.user.id, setCsrf: (value: string) => (csrf = value), csrf: body.csrfToken };
}

const loginInit = (): RequestInit => ({
  method: "POST",
  headers: { origin: ORIGIN, "content-type": "application/json" },
  body: JSON.stringify({ username: "nobody", password: PASSWORD }),
});

describe("issue 25 item 9: Hono mount and order", () => {
  it('basePath("/v1") without prefix: a LatchkeySetupError naming prefix "/v1" reaches onError, logged once, not a silent 404', async () => {
    const host = await honoHost((root, latchkey) => {
      const app = root.basePath("/v1");
      app.use(latchkey.routes);
      return app;
    });
    for (let i = 0; i < 2; i++) {
      const response = await host.send("/v1/auth/me");
      expect(response.status).toBe(500);
      const body = (await response.json()) as { name: string; message: string };
      expect(body.name).toBe("LatchkeySetupError");
      expect(body.message).toMatch(/^latchkey is set up wrong: latchkey.routes runs under "\/v1"/);
      expect(body.message).toContain('Pass prefix: "/v1" to latchkeyHono');
    }
    expect(host.entries.filter((entry) => entry.level === "error")).toHaveLength(1);
  });

  it('app.route("/v1", sub) without prefix is caught the same way', async () => {
    const host = await honoHost((root, latchkey) => {
      const sub = new Hono<OptionalAuthEnv>();
      sub.use(latchkey.routes);
      sub.get("/hello", (c) => c.text("hello"));
      root.route("/v1", sub);
      return root;
    });
    const body = (await (await host.send("/v1/auth/login", loginInit())).json()) as { name: string; message: string };
    expect(body.name).toBe("LatchkeySetupError");
    expect(body.message).toContain('Pass prefix: "/v1"');
  });

  it('basePath("/v1") with prefix "/v1" works, and a host route under it is the host\'s', async () => {
    const host = await honoHost(
      (root, latchkey) => {
        const app = root.basePath("/v1");
        app.use(latchkey.routes);
        app.get("/hello", (c) => c.text("hello"));
        return app;
      },
      { prefix: "/v1" },
    );
    const client = await signedIn(host.send, "/v1");
    expect((await client.call("GET", "/v1/auth/me")).status).toBe(200);
    expect((await host.send("/v1/.well-known/jwks.json")).status).toBe(200);
    expect(await (await host.send("/v1/hello")).text()).toBe("hello");
    expect(host.entries.filter((entry) => entry.level === "error")).toEqual([]);
  });

  it("a middleware that reads the body before latchkey.routes (c.req.json()): a LatchkeySetupError naming the fix", async () => {
    const host = await honoHost((app, latchkey) => {
      app.use(async (c, next) => {
        if (c.req.method === "POST") await c.req.json().catch(() => undefined);
        await next();
      });
      app.use(latchkey.routes);
      return app;
    });
    const response = await host.send("/auth/login", loginInit());
    expect(response.status).toBe(500);
    const body = (await response.json()) as { name: string; message: string };
    expect(body.name).toBe("LatchkeySetupError");
    expect(body.message).toContain("was read before latchkey.routes saw it");
    expect(host.entries.filter((entry) => entry.level === "error")).toHaveLength(1);
  });
});

describe("issue 25 item 15: optionalAuth and requireAuthWith in Hono", () => {
  it("optionalAuth: anonymous and dead credentials are null; a live session is its user; an unsafe cookie request still needs the CSRF token", async () => {
    const host = await honoHost((app, latchkey) => {
      app.use(latchkey.routes);
      app.on(["GET", "POST"], "/api/who", latchkey.optionalAuth, (c) => c.json({ user: c.var.auth?.userId ?? null }));
      return app;
    });
    const who = async (init: RequestInit = {}) => {
      const response = await host.send("/api/who", init);
      expect(response.status).toBe(200);
      return ((await response.json()) as { user: string | null }).user;
    };
    expect(await who()).toBeNull();
    expect(await who({ headers: { cookie: "__Host-sid=forged.secret" } })).toBeNull();
    expect(await who({ headers: { authorization: "Bearer forged" } })).toBeNull();
    expect(await who({ method: "POST", headers: { origin: "https://evil.example" } })).toBeNull();
    const client = await signedIn(host.send);
    expect(await (await client.call("GET", "/api/who")).json()).toEqual({ user: client.userId });
    client.setCsrf("");
    const noCsrf = await client.call("POST", "/api/who", {});
    expect(noCsrf.status).toBe(403);
    expect(((await noCsrf.json()) as { error: { code: string } }).error.code).toBe("csrf_failed");
  });

  it('requireAuthWith({ onRefusal: "next" }) throws the AuthError to onError, and Hono\'s default onError answers it as latchkey would', async () => {
    const seen: unknown[] = [];
    const host = await honoHost((app, latchkey) => {
      app.use(latchkey.routes);
      app.get("/api/private", latchkey.requireAuthWith({ onRefusal: "next" }), (c) =>
        c.json({ user: c.var.auth?.userId }),
      );
      return app;
    });
    host.app.onError((error, c) => {
      seen.push(error);
      return c.json({ host: "error" }, ((error as { status?: number }).status ?? 500) as 500);
    });
    const refused = await host.send("/api/private");
    expect(refused.status).toBe(401);
    expect(await refused.json()).toEqual({ host: "error" });
    expect(seen[0]).toBeInstanceOf(AuthError);
    expect(seen[0]).toMatchObject({ code: "unauthenticated", statusCode: 401, status: 401 });

    // With no onError of the host's, Hono answers `getResponse()`: the contract's 401.
    const bare = new Hono<OptionalAuthEnv>();
    const latchkey = latchkeyHono({
      auth: await hostCore(),
      publicOrigin: ORIGIN,
      maintenance: false,
      clientAddress: () => "192.0.2.7",
    });
    bare.get("/api/private", latchkey.requireAuthWith({ onRefusal: "next" }), (c) => c.text("never"));
    const answered = await bare.request("http://localhost:3000/api/private");
    expect(answered.status).toBe(401);
    expect(await answered.json()).toMatchObject({ error: { code: "unauthenticated" } });
  });

  it('requireAuthWith({ redirect: "/sign-in" }): a GET with no session gets 303 with next=; an unsafe one its 401', async () => {
    const host = await honoHost((app, latchkey) => {
      app.use(latchkey.routes);
      app.all("/account/*", latchkey.requireAuthWith({ redirect: "/sign-in" }), (c) =>
        c.json({ user: c.var.auth?.userId }),
      );
      return app;
    });
    const sent = await host.send("/account/notes?page=2");
    expect(sent.status).toBe(303);
    expect(sent.headers.get("location")).toBe("/sign-in?next=%2Faccount%2Fnotes%3Fpage%3D2");
    expect((await host.send("/account/x", { method: "POST", headers: { origin: ORIGIN } })).status).toBe(401);
    const client = await signedIn(host.send);
    expect(await (await client.call("GET", "/account/me")).json()).toEqual({ user: client.userId });
  });
});
