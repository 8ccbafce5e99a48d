/**
 * Issue 28 over HTTP: a cookie session's secret renews as it is used. Through the Fastify
 * plugin (`inject`) and the framework-free dispatcher (`latchkey/fetch`'s `handle`), under
 * `session` and `hybrid`, on a frozen clock: after the rotate interval, the request that
 * reads the session cookie (under `session`, with its write of use due; under `hybrid`, to
 * renew the access cookie) gets a new session cookie; the old one works within the grace and,
 * after it, ends the session with a 401 that says why and an event in the owner's log that
 * names both clients; a refusal after the renewal (a CSRF failure, a `requireRole` 403 in
 * every adapter) still carries the new cookie; `rotateInterval: 0` never renews; two
 * racing requests make one new cookie and two successes; `GET /auth/me` shows the schedule.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createAdaptorServer } from "@hono/node-server";
import express from "express";
import Fastify, { type FastifyInstance } from "fastify";
import { Hono } from "hono";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { latchkeyExpress } from "../../packages/latchkey/src/adapters/express.js";
import { handleError, latchkey } from "../../packages/latchkey/src/adapters/fastify.js";
import { createFetchHandler } from "../../packages/latchkey/src/adapters/fetch.js";
import { type LatchkeyEnv, latchkeyHono } from "../../packages/latchkey/src/adapters/hono.js";
import { toNodeHandler } from "../../packages/latchkey/src/adapters/node.js";
import { type Auth, DEFAULT_SESSION_POLICY } from "../../packages/latchkey/src/core/auth.js";
import { type ManualClock, manualClock } from "../../packages/latchkey/src/core/clock.js";
import { SESSION_REUSE_MESSAGE } from "../../packages/latchkey/src/core/session-manager.js";
import type { Strategy } from "../../packages/latchkey/src/http/context.js";
import { type Harness, startHarness, uniqueName } from "../helpers/harness.js";
import { closing, hostCore, listening, ORIGIN, PASSWORD, username } from "../helpers/host-app.js";

const START = Date.parse("2026-03-01T12:00:00.000Z");
const SECOND = 1000;
/** The defaults: a renewal 15 minutes after the last, a grace of 30 s. */
const INTERVAL = 900 * SECOND;
const GRACE = 30 * SECOND;
const SID = "__Host-sid";
const OWNER = { ip: "192.0.2.10", userAgent: "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0" };
const THIEF = { ip: "203.0.113.66", userAgent: "curl/8.5.0" };

interface Sent {
  method: string;
  path: string;
  body?: string;
  headers: Record<string, string>;
  ip: string;
}
interface Got {
  status: number;
  headers: Headers;
  text: string;
}
type Door = (request: Sent) => Promise<Got>;

function fastifyDoor(app: FastifyInstance): Door {
  return async ({ method, path, body, headers, ip }) => {
    const response = await app.inject({
      method: method as "GET",
      url: path,
      headers,
      payload: body,
      remoteAddress: ip,
    });
    const out = new Headers();
    for (const [name, value] of Object.entries(response.headers)) {
      for (const one of Array.isArray(value) ? value : [value]) if (one !== undefined) out.append(name, String(one));
    }
    return { status: response.statusCode, headers: out, text: response.body };
  };
}

function fetchDoor(handle: (request: Request, info: { ip: string }) => Promise<Response | null>): Door {
  return async ({ method, path, body, headers, ip }) => {
    const response = (await handle(new Request(`${ORIGIN}${path}`, { method, headers, body }), { ip })) ?? null;
    if (!response) return { status: 404, headers: new Headers(), text: "" };
    return { status: response.status, headers: response.headers, text: await response.text() };
  };
}

/** A socket door: a host app on a real port. */
function socketDoor(base: string): Door {
  return async ({ method, path, body, headers }) => {
    const response = await fetch(`${base}${path}`, { method, headers, body });
    return { status: response.status, headers: response.headers, text: await response.text() };
  };
}

/** A browser: its address and agent, a cookie jar and the CSRF token. */
class Browser {
  jar = new Map<string, string>();
  csrf = "";
  constructor(
    readonly door: Door,
    readonly client: { ip: string; userAgent: string },
  ) {}

  /** Another client holding a copy of this one's cookies, as they are now. */
  copy(client: { ip: string; userAgent: string }): Browser {
    const other = new Browser(this.door, client);
    other.jar = new Map(this.jar);
    other.csrf = this.csrf;
    return other;
  }

  async send(method: string, path: string, options: { json?: unknown; csrf?: boolean; only?: string[] } = {}) {
    const headers: Record<string, string> = { origin: ORIGIN, "user-agent": this.client.userAgent };
    const body = options.json === undefined ? undefined : JSON.stringify(options.json);
    if (body !== undefined) headers["content-type"] = "application/json";
    const cookies = [...this.jar].filter(([name]) => !options.only || options.only.includes(name));
    if (cookies.length > 0) headers.cookie = cookies.map(([k, v]) => `${k}=${v}`).join("; ");
    if (this.csrf && method !== "GET" && (options.csrf ?? true)) headers["x-csrf-token"] = this.csrf;
    const got = await this.door({ method, path, body, headers, ip: this.client.ip });
    for (const line of got.headers.getSetCookie()) {
      const [pair] = line.split(";");
      const [name, ...value] = (pair as string).split("=");
      if (/Max-Age=0/i.test(line)) this.jar.delete(name as string);
      else this.jar.set(name as string, value.join("="));
    }
    return got;
  }

  async signUp(name = username("renew")) {
    expect((await this.send("POST", "/auth/register", { json: { username: name, password: PASSWORD } })).status).toBe(
      201,
    );
    return this.logIn(name);
  }

  async logIn(name: string) {
    const got = await this.send("POST", "/auth/login", { json: { username: name, password: PASSWORD } });
    expect(got.status).toBe(200);
    const body = JSON.parse(got.text) as { csrfToken: string; session: { id: string } };
    this.csrf = body.csrfToken;
    return { name, sessionId: body.session.id };
  }
}

/** The `Set-Cookie` line of the session cookie on an answer, if any. */
const sessionCookieLine = (got: Got) => got.headers.getSetCookie().find((line) => line.startsWith(`${SID}=`));
/** A cookie line's attributes, sorted, without its value and `Max-Age`. */
const attributesOf = (line: string | undefined) =>
  (line ?? "")
    .split(";")
    .slice(1)
    .map((part) => part.trim().toLowerCase())
    .filter((part) => !part.startsWith("max-age"))
    .sort();
const json = (got: Got) =>
  JSON.parse(got.text) as Record<string, unknown> & { error?: { code: string; message: string } };
const iso = (ms: number) => new Date(ms).toISOString();

interface Setup {
  door: Door;
  clock: ManualClock;
  close(): Promise<void>;
}
type Start = (strategy: Strategy, sessions?: Partial<typeof DEFAULT_SESSION_POLICY>) => Promise<Setup>;

const options = (auth: Auth, strategy: Strategy) => ({
  auth,
  publicOrigin: ORIGIN,
  strategy,
  maintenance: false as const,
});

async function clockedCore(sessions: Partial<typeof DEFAULT_SESSION_POLICY> = {}) {
  const clock = manualClock(START);
  const auth = await hostCore(undefined, { clock, sessions: { ...DEFAULT_SESSION_POLICY, ...sessions } });
  return { clock, auth };
}

const DOORS: [string, Start][] = [
  [
    "the Fastify plugin",
    async (strategy, sessions) => {
      const { clock, auth } = await clockedCore(sessions);
      const app = Fastify();
      await app.register(latchkey, options(auth, strategy));
      return { door: fastifyDoor(app), clock, close: () => app.close() };
    },
  ],
  [
    "the fetch dispatcher",
    async (strategy, sessions) => {
      const { clock, auth } = await clockedCore(sessions);
      const handler = createFetchHandler(options(auth, strategy));
      return {
        door: fetchDoor((request, info) => handler.handle(request, info)),
        clock,
        close: async () => {
          handler.close();
          await auth.close();
        },
      };
    },
  ],
];

describe.each(DOORS)("session secrets that renew, through %s", (_door, start) => {
  describe.each(["session", "hybrid"] as Strategy[])("AUTH_STRATEGY=%s", (strategy) => {
    let setup: Setup;
    afterEach(async () => {
      await setup?.close();
    });

    it("after the interval, the request that writes its use gets a new session cookie; /auth/me shows the schedule", async () => {
      setup = await start(strategy);
      const owner = new Browser(setup.door, OWNER);
      await owner.signUp();
      const loginLine = owner.jar.get(SID);
      const early = await owner.send("GET", "/auth/me");
      expect([early.status, sessionCookieLine(early)]).toEqual([200, undefined]);
      expect(json(early).secret).toEqual({
        renewedAt: iso(START),
        renewsAfter: iso(START + INTERVAL),
        graceSeconds: 30,
      });

      // A touch is due every minute, but the secret only after the interval.
      setup.clock.advance(INTERVAL - 10 * SECOND);
      // (`only`: under hybrid the session cookie is read when there is no live access cookie.)
      const touched = await owner.send("GET", "/auth/me", { only: [SID] });
      expect([touched.status, sessionCookieLine(touched)]).toEqual([200, undefined]);

      setup.clock.advance(70 * SECOND);
      const renewed = await owner.send("GET", "/auth/me", { only: [SID] });
      expect(renewed.status).toBe(200);
      const line = sessionCookieLine(renewed);
      expect(line).toBeDefined();
      expect(owner.jar.get(SID)).not.toBe(loginLine);
      expect(attributesOf(line)).toEqual(["httponly", "path=/", "samesite=lax", "secure"]);
      expect(renewed.headers.get("cache-control")).toMatch(/no-store/);
      const now = START + INTERVAL + 60 * SECOND;
      expect(json(renewed).secret).toEqual({ renewedAt: iso(now), renewsAfter: iso(now + INTERVAL), graceSeconds: 30 });

      // The new cookie is the session: it works and is not renewed again.
      setup.clock.advance(SECOND);
      const after = await owner.send("GET", "/auth/me", { only: [SID] });
      expect([after.status, sessionCookieLine(after)]).toEqual([200, undefined]);
    });

    it("the old cookie works within the grace; after it, a 401 that says why, the session ends, and the owner's log names both clients", async () => {
      setup = await start(strategy);
      const owner = new Browser(setup.door, OWNER);
      const { name, sessionId } = await owner.signUp();
      const thief = owner.copy(THIEF);

      setup.clock.advance(INTERVAL + SECOND);
      const renewed = await owner.send("GET", "/auth/me");
      expect(sessionCookieLine(renewed)).toBeDefined();

      setup.clock.advance(GRACE - SECOND);
      const within = await thief.send("GET", "/auth/me");
      expect([within.status, sessionCookieLine(within)]).toEqual([200, undefined]);

      // Under hybrid that answer gave the thief an access cookie of its own; the session
      // cookie is what it must present once that expires, as here.
      setup.clock.advance(2 * SECOND);
      const late = await thief.send("GET", "/auth/me", { only: [SID] });
      expect([late.status, json(late).error]).toEqual([
        401,
        { code: "unauthenticated", message: SESSION_REUSE_MESSAGE },
      ]);
      // Ended everywhere: the owner's new cookie (and, under hybrid, its fresh access cookie) too.
      expect((await owner.send("GET", "/auth/sessions")).status).toBe(401);
      expect((await owner.send("GET", "/auth/me", { only: [SID] })).status).toBe(401);

      const again = new Browser(setup.door, OWNER);
      await again.logIn(name);
      const events = json(await again.send("GET", "/auth/events")).events as Record<string, unknown>[];
      const reuse = events.filter((event) => event.type === "session_reuse_detected");
      expect(reuse).toEqual([
        {
          id: expect.any(String),
          type: "session_reuse_detected",
          at: iso(START + INTERVAL + GRACE + 2 * SECOND),
          sessionId,
          ip: THIEF.ip,
          userAgent: THIEF.userAgent,
          other: { ip: OWNER.ip, userAgent: OWNER.userAgent },
        },
      ]);
    });

    it("a renewing request refused by the CSRF check still carries the new cookie", async () => {
      setup = await start(strategy);
      const owner = new Browser(setup.door, OWNER);
      await owner.signUp();
      const old = owner.jar.get(SID);
      const thief = owner.copy(THIEF);
      setup.clock.advance(INTERVAL + SECOND);
      const refused = await owner.send("POST", "/auth/logout-others", { csrf: false });
      expect([refused.status, json(refused).error?.code]).toEqual([403, "csrf_failed"]);
      expect(sessionCookieLine(refused)).toBeDefined();
      expect(owner.jar.get(SID)).not.toBe(old);
      expect(refused.headers.get("cache-control")).toMatch(/no-store/);
      // The browser took the new cookie: past the grace it still works, and the old one does not.
      setup.clock.advance(GRACE + SECOND);
      expect((await owner.send("GET", "/auth/me", { only: [SID] })).status).toBe(200);
      expect((await thief.send("GET", "/auth/me", { only: [SID] })).status).toBe(401);
    });

    it("of two racing requests with the same old cookie, exactly one gets a new cookie, and both succeed", async () => {
      setup = await start(strategy);
      const owner = new Browser(setup.door, OWNER);
      await owner.signUp();
      const tab = owner.copy(OWNER);
      setup.clock.advance(INTERVAL + SECOND);
      const answers = await Promise.all([owner.send("GET", "/auth/me"), tab.send("GET", "/auth/me")]);
      expect(answers.map((got) => got.status)).toEqual([200, 200]);
      expect(answers.filter((got) => sessionCookieLine(got) !== undefined)).toHaveLength(1);
      // Both tabs go on past the grace, with the one cookie the winner set.
      const winner = sessionCookieLine(answers[0] as Got) ? owner : tab;
      setup.clock.advance(GRACE + SECOND);
      expect((await winner.send("GET", "/auth/sessions", { only: [SID] })).status).toBe(200);
    });

    it("rotateInterval 0 never renews", async () => {
      setup = await start(strategy, { rotateInterval: 0 });
      const owner = new Browser(setup.door, OWNER);
      await owner.signUp();
      const first = owner.jar.get(SID);
      for (let i = 0; i < 6; i++) {
        setup.clock.advance(INTERVAL / 2);
        const got = await owner.send("GET", "/auth/me", { only: [SID] });
        expect([got.status, sessionCookieLine(got)]).toEqual([200, undefined]);
        expect(json(got).secret).toEqual({ renewedAt: iso(START), renewsAfter: null, graceSeconds: 30 });
      }
      expect(owner.jar.get(SID)).toBe(first);
    });
  });

  it("GET /auth/me's secret is null for a jwt login and for a bearer token", async () => {
    const jwt = await start("jwt");
    const bearer = await start("session");
    try {
      const browser = new Browser(jwt.door, OWNER);
      await browser.signUp();
      const me = await browser.send("GET", "/auth/me");
      expect([me.status, json(me).secret]).toEqual([200, null]);

      const api = new Browser(bearer.door, OWNER);
      const name = username("bearer");
      await api.send("POST", "/auth/register", { json: { username: name, password: PASSWORD } });
      const token = await api.send("POST", "/auth/token", { json: { username: name, password: PASSWORD } });
      const { access_token } = json(token) as unknown as { access_token: string };
      const viaBearer = await bearer.door({
        method: "GET",
        path: "/auth/me",
        headers: { authorization: `Bearer ${access_token}` },
        ip: OWNER.ip,
      });
      expect([viaBearer.status, json(viaBearer).secret]).toEqual([200, null]);
    } finally {
      await jwt.close();
      await bearer.close();
    }
  });
});

/**
 * A host's own routes in every adapter: `GET /admins` behind `requireRole("admin")` and
 * `POST /things` behind `requireAuth`; a plain user's renewing request refused by either
 * still gets the new cookie, with the `Cache-Control` of a renewed credential.
 */
const HOSTS: [string, (auth: Auth, strategy: Strategy) => Promise<{ base: string; close(): Promise<void> }>][] = [
  [
    "Fastify",
    async (auth, strategy) => {
      const app = Fastify();
      app.setErrorHandler(handleError);
      await app.register(latchkey, options(auth, strategy));
      app.get("/admins", { preHandler: app.requireRole("admin") }, async () => ({ ok: true }));
      app.post("/things", { preHandler: app.requireAuth }, async () => ({ ok: true }));
      await app.listen({ port: 0, host: "127.0.0.1" });
      return { base: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`, close: () => app.close() };
    },
  ],
  [
    "Express",
    async (auth, strategy) => {
      const guest = latchkeyExpress(options(auth, strategy));
      const app = express();
      app.use(guest.routes);
      app.get("/admins", guest.requireRole("admin"), (_req, res) => {
        res.json({ ok: true });
      });
      app.post("/things", guest.requireAuth, (_req, res) => {
        res.json({ ok: true });
      });
      return serve(createServer(app), guest);
    },
  ],
  [
    "Hono",
    async (auth, strategy) => {
      const guest = latchkeyHono(options(auth, strategy));
      const app = new Hono<LatchkeyEnv>();
      app.use(guest.routes);
      app.get("/admins", guest.requireRole("admin"), (c) => c.json({ ok: true }));
      app.post("/things", guest.requireAuth, (c) => c.json({ ok: true }));
      return serve(createAdaptorServer({ fetch: app.fetch }) as Server, guest);
    },
  ],
  [
    "fetch",
    async (auth, strategy) => {
      const guest = createFetchHandler(options(auth, strategy));
      const admins = guest.requireRole("admin");
      const server = createServer(
        toNodeHandler(async (request, { ip }) => {
          const answered = await guest.handle(request, { ip });
          if (answered) return answered;
          const { pathname } = new URL(request.url);
          const ok = async () => Response.json({ ok: true });
          if (pathname === "/admins") return admins(request, { ip }, ok);
          if (pathname === "/things") return guest.protect(request, { ip }, ok);
          return new Response("Not found", { status: 404 });
        }),
      );
      return serve(server, guest);
    },
  ],
];

async function serve(server: Server, guest: { close(): void }) {
  const base = await listening(server);
  return {
    base,
    close: async () => {
      guest.close();
      await closing(server);
    },
  };
}

describe.each(HOSTS)("a renewal refused on a host's route: %s", (_name, start) => {
  describe.each(["session", "hybrid"] as Strategy[])("AUTH_STRATEGY=%s", (strategy) => {
    let clock: ManualClock;
    let auth: Auth;
    let host: { base: string; close(): Promise<void> };
    beforeAll(async () => {
      ({ clock, auth } = await clockedCore());
      host = await start(auth, strategy);
    });
    afterAll(async () => {
      await host.close();
      await auth.close();
    });

    for (const [what, method, path, code] of [
      ['requireRole("admin") for a plain user', "GET", "/admins", "forbidden"],
      ["requireAuth, an unsafe request without X-CSRF-Token", "POST", "/things", "csrf_failed"],
    ] as const) {
      it(`${what}: 403 ${code}, with the new session cookie`, async () => {
        const owner = new Browser(socketDoor(host.base), OWNER);
        await owner.signUp();
        const old = owner.jar.get(SID);
        const thief = owner.copy(THIEF);
        const before = await owner.send(method, path, { csrf: false });
        expect([before.status, json(before).error?.code, sessionCookieLine(before)]).toEqual([403, code, undefined]);

        clock.advance(INTERVAL + SECOND);
        const refused = await owner.send(method, path, { csrf: false });
        expect([refused.status, json(refused).error?.code]).toEqual([403, code]);
        expect(sessionCookieLine(refused)).toBeDefined();
        expect(owner.jar.get(SID)).not.toBe(old);
        // No cache keeps it. (The fetch adapter sends `private, no-store` here as on a
        // success; the others send the error's `no-store`, which forbids every cache too.)
        expect(refused.headers.get("cache-control")).toMatch(/(^|, )no-store$/);

        // The browser kept the new secret: past the grace it is the session, the old one is theft.
        clock.advance(GRACE + SECOND);
        const me = await owner.send("GET", "/auth/me", { only: [SID] });
        expect([me.status, sessionCookieLine(me)]).toEqual([200, undefined]);
        const late = await thief.send("GET", "/auth/me", { only: [SID] });
        expect([late.status, json(late).error?.message]).toEqual([401, SESSION_REUSE_MESSAGE]);
      });
    }

    it("requireAuth, a request that passes: 200 with the new session cookie and `private, no-store`", async () => {
      const owner = new Browser(socketDoor(host.base), OWNER);
      await owner.signUp();
      const old = owner.jar.get(SID);
      clock.advance(INTERVAL + SECOND);
      const passed = await owner.send("POST", "/things");
      expect([passed.status, JSON.parse(passed.text)]).toEqual([200, { ok: true }]);
      expect(sessionCookieLine(passed)).toBeDefined();
      expect(owner.jar.get(SID)).not.toBe(old);
      expect(passed.headers.get("cache-control")).toBe("private, no-store");
    });
  });
});

/** The server's settings reach the policy: `SESSION_ROTATE_INTERVAL` and `SESSION_ROTATE_GRACE`. */
describe("the server's SESSION_ROTATE_INTERVAL and SESSION_ROTATE_GRACE", () => {
  let harness: Harness | undefined;
  afterEach(async () => {
    await harness?.close();
    harness = undefined;
  });
  const sidSet = (response: { headers: Record<string, unknown> }) =>
    [response.headers["set-cookie"] ?? []].flat().some((line) => String(line).startsWith(`${SID}=`));

  it("SESSION_ROTATE_INTERVAL=0 never renews, however long the session is used", async () => {
    harness = await startHarness({ SESSION_ROTATE_INTERVAL: "0", AUTH_STRATEGY: "session" });
    const alice = harness.client();
    await alice.signUpAndLogIn(uniqueName("norenew"));
    const first = alice.cookies.get(SID);
    for (let i = 0; i < 8; i++) {
      harness.clock.advance(10 * 60 * SECOND);
      const me = await alice.get("/auth/me");
      expect([me.statusCode, sidSet(me)]).toEqual([200, false]);
      expect(me.json().secret).toMatchObject({ renewsAfter: null, graceSeconds: 30 });
    }
    expect(alice.cookies.get(SID)).toBe(first);
  });

  it("SESSION_ROTATE_INTERVAL=120 SESSION_ROTATE_GRACE=10: renewed after two minutes, the old secret refused eleven seconds later", async () => {
    harness = await startHarness({
      SESSION_ROTATE_INTERVAL: "120",
      SESSION_ROTATE_GRACE: "10",
      AUTH_STRATEGY: "session",
    });
    const alice = harness.client(OWNER);
    await alice.signUpAndLogIn(uniqueName("renew"));
    const old = alice.cookies.get(SID);
    harness.clock.advance(119 * SECOND);
    expect(sidSet(await alice.get("/auth/me"))).toBe(false);
    harness.clock.advance(61 * SECOND);
    const renewed = await alice.get("/auth/me");
    expect([renewed.statusCode, sidSet(renewed)]).toEqual([200, true]);
    expect(renewed.json().secret.graceSeconds).toBe(10);
    harness.clock.advance(11 * SECOND);
    const stolen = await alice.get("/auth/me", { cookie: `${SID}=${old}` });
    expect([stolen.statusCode, stolen.json().error.message]).toEqual([401, SESSION_REUSE_MESSAGE]);
  });
});
