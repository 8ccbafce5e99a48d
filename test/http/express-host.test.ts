/**
 * latchkey in a real Express 5 app on a real socket (issue 25): a store failing while the
 * revocation stream pages leaves the host up (item 5); a body parser ahead of latchkey's
 * routes and a mount path without `prefix` are set-up errors that name their fix, and the
 * right wiring works (item 9); `optionalAuth` and `requireAuthWith` (item 15); the README's
 * Express example compiles under `exactOptionalPropertyTypes` (item 2b).
 */
import type { Server } from "node:http";
import express, { type Express, type NextFunction, type Request, type Response } from "express";
import { afterEach, describe, expect, it } from "vitest";
import {
  type ExpressLatchkey,
  type ExpressOptions,
  latchkeyExpress,
} from "../../packages/latchkey/src/adapters/express.js";
import type { Auth } from "../../packages/latchkey/src/core/auth.js";
import { REVOCATIONS_PAGE_MAX } from "../../packages/latchkey/src/core/revocations.js";
import { createMemoryStores } from "../../packages/latchkey/src/stores/memory/index.js";
import { compileDocExample } from "../helpers/doc-example-types.js";
import { closing, hostCore, listening, ORIGIN, PASSWORD, recordingLog, username } from "../helpers/host-app.js";
import { HttpClient } from "../helpers/http-client.js";
import { basic, subscribe } from "../helpers/sse.js";

interface Host {
  base: string;
  auth: Auth;
  latchkey: ExpressLatchkey;
  entries: ReturnType<typeof recordingLog>["entries"];
}

const open: { server: Server; latchkey: ExpressLatchkey }[] = [];
afterEach(async () => {
  for (const { server, latchkey } of open.splice(0)) {
    latchkey.close();
    await closing(server);
  }
});

/**
 * An Express app wired by `wire`, with a host error handler that shows what reached it,
 * and a host route of its own (`GET /health`).
 */
async function expressHost(
  wire: (app: Express, latchkey: ExpressLatchkey) => void,
  options: Partial<ExpressOptions> = {},
  auth?: Auth,
): Promise<Host> {
  const core = auth ?? (await hostCore());
  const { log, entries } = recordingLog();
  const latchkey = latchkeyExpress({ auth: core, publicOrigin: ORIGIN, maintenance: false, log, ...options });
  const app = express();
  app.get("/health", (_req, res) => {
    res.json({ ok: true });
  });
  wire(app, latchkey);
  app.use(
    (error: Error & { statusCode?: number; code?: string }, _req: Request, res: Response, _next: NextFunction) => {
      res
        .status(error.statusCode ?? 500)
        .json({ host: "error", name: error.name, code: error.code, message: error.message });
    },
  );
  const server = app.listen(0, "127.0.0.1");
  open.push({ server, latchkey });
  return { base: await listening(server), auth: core, latchkey, entries };
}

async function signedIn(base: string, prefix = ""): Promise<HttpClient> {
  const client = new HttpClient(ORIGIN);
  const name = username("ex");
  expect(
    (await client.request(base, "POST", `${prefix}/auth/register`, { username: name, password: PASSWORD })).status,
  ).toBe(201);
  expect((await client.login(base, name, PASSWORD, `${prefix}/auth/login`)).status).toBe(200);
  return client;
}

const loginBody = JSON.stringify({ username: "nobody", password: PASSWORD });
const post = (base: string, path: string, body: string, type = "application/json") =>
  fetch(`${base}${path}`, { method: "POST", headers: { origin: ORIGIN, "content-type": type }, body });

describe("issue 25 item 5: a store failing mid-stream", () => {
  it("a store error while the revocation stream pages is logged; the Express host stays up and serves on", async () => {
    const stores = createMemoryStores();
    const auth = await hostCore(stores);
    for (let i = 0; i <= REVOCATIONS_PAGE_MAX + 5; i++)
      await stores.changes.publish("session_ended", `sess${i}`, Date.now());
    // The store fails at the stream's second page, as a database that goes away mid-read.
    const read = stores.changes.read;
    stores.changes.read = async (afterSeq, notBefore, limit) => {
      if (afterSeq === REVOCATIONS_PAGE_MAX) throw new Error("the database went away");
      return read(afterSeq, notBefore, limit);
    };
    const rejections: unknown[] = [];
    const onRejection = (reason: unknown) => rejections.push(reason);
    process.on("unhandledRejection", onRejection);
    try {
      const host = await expressHost((app, latchkey) => app.use(latchkey.routes), {}, auth);
      const { service, clientSecret } = await auth.services.create("billing");
      const stream = await subscribe(`${host.base}/auth/revocations`, basic(service.id, clientSecret));
      expect(stream.response.status).toBe(200);
      await stream.waitForEnd(5000);
      expect(stream.events.filter((e) => e.event === "revocation")).toHaveLength(REVOCATIONS_PAGE_MAX);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(rejections).toEqual([]);
      const warned = host.entries.find((entry) => entry.message === "event stream failed");
      expect((warned?.err as Error | undefined)?.message).toBe("the database went away");
      expect((await fetch(`${host.base}/health`)).status).toBe(200);
    } finally {
      process.off("unhandledRejection", onRejection);
    }
  });
});

/**
 * Review of issue 25, item 4: an event stream whose headers cannot be written (a host's
 * middleware sent them already) never held its place: the service's one stream is free again.
 */
describe("an event stream that cannot start, in Express", () => {
  it("frees its place in the per-service limit when writing its headers throws", async () => {
    const auth = await hostCore(createMemoryStores(), { streams: { perService: 1 } });
    const host = await expressHost(
      (app, latchkey) => {
        app.use((req, res, next) => {
          if (req.headers["x-flush"]) res.flushHeaders();
          next();
        });
        app.use(latchkey.routes);
      },
      {},
      auth,
    );
    const { service, clientSecret } = await auth.services.create("streamer");
    const authorization = basic(service.id, clientSecret);
    const headers = { authorization, accept: "text/event-stream", "x-flush": "1" };
    await fetch(`${host.base}/auth/revocations`, { headers })
      .then((response) => response.text())
      .catch((error: Error) => error);
    expect(auth.revocations.openStreams).toBe(0);
    const stream = await subscribe(`${host.base}/auth/revocations`, authorization);
    expect(stream.response.status).toBe(200);
    await stream.close();
  });
});

describe("issue 25 item 9: Express order and mount", () => {
  it("express.json() before latchkey.routes: a LatchkeySetupError naming the fix goes to the host's error handler, logged once", async () => {
    const host = await expressHost((app, latchkey) => {
      app.use(express.json());
      app.use(latchkey.routes);
    });
    for (let i = 0; i < 2; i++) {
      const response = await post(host.base, "/auth/login", loginBody);
      expect(response.status).toBe(500);
      const body = (await response.json()) as { host: string; name: string; message: string };
      expect(body.host).toBe("error");
      expect(body.name).toBe("LatchkeySetupError");
      expect(body.message).toMatch(/^latchkey is set up wrong: /);
      expect(body.message).toContain("express.json()");
      expect(body.message).toContain("app.use(latchkey.routes) before app.use(express.json())");
    }
    expect(host.entries.filter((entry) => entry.level === "error")).toHaveLength(1);
    // The host's own routes are the host's.
    expect((await fetch(`${host.base}/health`)).status).toBe(200);
  });

  it("any body parser before latchkey.routes is caught, even one that did not parse this request (express.urlencoded())", async () => {
    const host = await expressHost((app, latchkey) => {
      app.use(express.urlencoded({ extended: false }));
      app.use(latchkey.routes);
    });
    const response = await post(host.base, "/auth/login", loginBody);
    expect(((await response.json()) as { name: string }).name).toBe("LatchkeySetupError");
  });

  it("latchkey.routes before express.json(), or a parser scoped to the host's paths: latchkey's own body rules hold, and the host's parser still parses", async () => {
    for (const order of ["before", "scoped"] as const) {
      const host = await expressHost((app, latchkey) => {
        if (order === "scoped") app.use("/api", express.json());
        app.use(latchkey.routes);
        if (order === "before") app.use(express.json());
        app.post("/api/echo", (req, res) => {
          res.json({ got: req.body });
        });
      });
      expect((await post(host.base, "/auth/login", "{not json")).status).toBe(400);
      expect((await post(host.base, "/auth/login", loginBody, "text/plain")).status).toBe(415);
      const big = JSON.stringify({ username: "x".repeat(70 * 1024), password: PASSWORD });
      expect((await post(host.base, "/auth/login", big)).status).toBe(413);
      const echoed = await post(host.base, "/api/echo", JSON.stringify({ a: 1 }));
      expect(await echoed.json()).toEqual({ got: { a: 1 } });
      const client = await signedIn(host.base);
      expect((await client.request(host.base, "GET", "/auth/me")).status).toBe(200);
    }
  });

  it('app.use("/v1", latchkey.routes) without prefix: a LatchkeySetupError naming prefix "/v1", not a silent 404', async () => {
    const host = await expressHost((app, latchkey) => app.use("/v1", latchkey.routes));
    const response = await fetch(`${host.base}/v1/auth/me`);
    expect(response.status).toBe(500);
    const body = (await response.json()) as { name: string; message: string };
    expect(body.name).toBe("LatchkeySetupError");
    expect(body.message).toContain('app.use("/v1", latchkey.routes)');
    expect(body.message).toContain('Pass prefix: "/v1" to latchkeyExpress');
    expect((await fetch(`${host.base}/health`)).status).toBe(200);
  });

  it('app.use("/v1", latchkey.routes) with prefix "/v1" works, and so does prefix "/v1" at the root', async () => {
    for (const mount of ["/v1", "/"]) {
      const host = await expressHost((app, latchkey) => app.use(mount, latchkey.routes), { prefix: "/v1" });
      const client = await signedIn(host.base, "/v1");
      const me = await client.request(host.base, "GET", "/v1/auth/me");
      expect(me.status).toBe(200);
      expect((await fetch(`${host.base}/v1/.well-known/jwks.json`)).status).toBe(200);
      expect((await fetch(`${host.base}/auth/me`)).status).toBe(404);
      expect(host.entries.filter((entry) => entry.level === "error")).toEqual([]);
    }
  });
});

describe("issue 25 item 15: optionalAuth and requireAuthWith in Express", () => {
  async function optionalHost() {
    return expressHost((app, latchkey) => {
      app.use(latchkey.routes);
      const who = (req: Request, res: Response) => {
        res.json({ user: req.auth === null ? null : (req.auth?.userId ?? "unset") });
      };
      app.get("/api/who", latchkey.optionalAuth, who);
      app.post("/api/who", latchkey.optionalAuth, who);
    });
  }

  it("optionalAuth: anonymous, a dead cookie and a bad bearer token are null, never refused; a live session is its user", async () => {
    const host = await optionalHost();
    const who = async (headers: Record<string, string> = {}) => {
      const response = await fetch(`${host.base}/api/who`, { headers });
      expect(response.status).toBe(200);
      return ((await response.json()) as { user: string | null }).user;
    };
    expect(await who()).toBeNull();
    expect(await who({ cookie: "__Host-sid=forged.secret" })).toBeNull();
    expect(await who({ authorization: "Bearer not-a-token" })).toBeNull();
    expect(await who({ authorization: "Basic Zm9vOmJhcg==" })).toBeNull();
    const client = await signedIn(host.base);
    const me = (await (await client.request(host.base, "GET", "/auth/me")).json()) as { user: { id: string } };
    const mine = await client.request(host.base, "GET", "/api/who");
    expect(await mine.json()).toEqual({ user: me.user.id });
    // Logged out, the same cookie is a dead one: nobody.
    const cookie = [...client.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
    expect((await client.request(host.base, "POST", "/auth/logout")).status).toBe(204);
    expect(await who({ cookie })).toBeNull();
  });

  it("optionalAuth: an unsafe cookie request still needs our origin and the CSRF token (403); an anonymous one does not", async () => {
    const host = await optionalHost();
    const client = await signedIn(host.base);
    const csrf = client.csrf;
    client.csrf = "";
    const noCsrf = await client.request(host.base, "POST", "/api/who", {});
    expect(noCsrf.status).toBe(403);
    expect(((await noCsrf.json()) as { error: { code: string } }).error.code).toBe("csrf_failed");
    client.csrf = csrf;
    const foreign = await client.request(host.base, "POST", "/api/who", {}, { origin: "https://evil.example" });
    expect(foreign.status).toBe(403);
    expect(((await foreign.json()) as { error: { code: string } }).error.code).toBe("forbidden_origin");
    expect((await client.request(host.base, "POST", "/api/who", {})).status).toBe(200);
    const anonymous = await fetch(`${host.base}/api/who`, {
      method: "POST",
      headers: { origin: "https://evil.example" },
    });
    expect(await anonymous.json()).toEqual({ user: null });
  });

  it('requireAuthWith({ onRefusal: "next" }) hands the AuthError, with its status and code, to the host\'s error handler', async () => {
    const host = await expressHost((app, latchkey) => {
      app.use(latchkey.routes);
      app.get("/api/private", latchkey.requireAuthWith({ onRefusal: "next" }), (req, res) => {
        res.json({ user: req.auth?.userId });
      });
    });
    const refused = await fetch(`${host.base}/api/private`);
    expect(refused.status).toBe(401);
    expect(await refused.json()).toMatchObject({ host: "error", name: "AuthError", code: "unauthenticated" });
    const client = await signedIn(host.base);
    expect((await client.request(host.base, "GET", "/api/private")).status).toBe(200);
  });

  it('requireAuthWith({ redirect: "/sign-in" }): a GET with no session is sent to sign in with next=; other refusals answer as usual', async () => {
    const host = await expressHost((app, latchkey) => {
      app.use(latchkey.routes);
      app.use(latchkey.requireAuthWith({ redirect: "/sign-in?from=app" }), (req, res) => {
        res.json({ user: req.auth?.userId });
      });
    });
    const get = (path: string, headers: Record<string, string> = {}) =>
      fetch(`${host.base}${path}`, { redirect: "manual", headers });
    const sent = await get("/account/notes?page=2");
    expect(sent.status).toBe(303);
    expect(sent.headers.get("location")).toBe("/sign-in?from=app&next=%2Faccount%2Fnotes%3Fpage%3D2");
    expect(sent.headers.get("cache-control")).toBe("no-store");
    // Only a path of this site goes into next=: `//evil.example` would be another host.
    expect((await get("//evil.example/x")).headers.get("location")).toBe("/sign-in?from=app&next=%2F");
    // An API client's bad token, and an unsafe request, get their 401.
    const bearer = await get("/account", { authorization: "Bearer forged" });
    expect(bearer.status).toBe(401);
    expect(((await bearer.json()) as { error: { code: string } }).error.code).toBe("invalid_token");
    const unsafe = await fetch(`${host.base}/account`, {
      method: "POST",
      headers: { origin: ORIGIN },
      redirect: "manual",
    });
    expect(unsafe.status).toBe(401);
    const client = await signedIn(host.base);
    expect((await client.request(host.base, "GET", "/account")).status).toBe(200);
  });

  it("requireAuthWith refuses, when the app is built, a redirect that is not a path of this site and an unknown mode", async () => {
    const latchkey = latchkeyExpress({ auth: await hostCore(), publicOrigin: ORIGIN, maintenance: false });
    for (const redirect of ["https://evil.example/sign-in", "//evil.example", "/\\evil.example", "sign-in"]) {
      expect(() => latchkey.requireAuthWith({ redirect })).toThrow(/redirect must be a path on this site/);
    }
    expect(() => latchkey.requireAuthWith({ onRefusal: "ignore" } as never)).toThrow(TypeError);
    latchkey.close();
  });
});

describe("issue 25 item 2b: Express types", () => {
  it("the README's Express example compiles under exactOptionalPropertyTypes", () => {
    expect(compileDocExample("README.md", "latchkey/express", { exactOptionalPropertyTypes: true })).toEqual([]);
  }, 60_000);
});
