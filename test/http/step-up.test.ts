/**
 * Issue 32, recent sign-in ("step-up"): every admin change is refused once the caller's
 * sign-in is older than `reauthWindow` (`403 reauthentication_required`, nothing changed)
 * and allowed again after `POST /auth/reauthenticate`, under every strategy, by cookie and
 * by bearer token, through the Fastify plugin and the fetch adapter. The password is
 * checked and throttled like a password change's; the routes whose body carries the
 * password pass without a recent sign-in while no account has a second factor, and need
 * one once it does. Tokens say when and how the person signed in (`auth_time`, `amr`), and
 * a re-authentication moves `auth_time` in the tokens issued after it.
 */
import { randomBytes } from "node:crypto";
import { decodeJwt } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Auth, createAuth, DEFAULT_SESSION_POLICY } from "../../packages/latchkey/src/core/auth.js";
import { type ManualClock, manualClock } from "../../packages/latchkey/src/core/clock.js";
import { totpCode, totpKey, totpStep } from "../../packages/latchkey/src/core/totp.js";
import type { Strategy } from "../../packages/latchkey/src/http/context.js";
import { createMemoryStores } from "../../packages/latchkey/src/stores/memory/index.js";
import { loadConfig } from "../../packages/server/src/app/config.js";
import { adminCore, Caller, codeOf, type Door, openDoors, PASSWORD, userWith } from "../helpers/admin.js";
import { startHarness } from "../helpers/harness.js";

const START = Date.parse("2026-03-01T12:00:00.000Z");
/** A short window, so that stepping past it leaves every access token alive (600 s). */
const WINDOW = 60;
const STALE = (WINDOW + 1) * 1000;

/** Every admin route that changes something, in an order each can follow the one before. */
const WRITES = [
  { name: "disable", method: "POST", path: (id: string) => `/admin/users/${id}/disable`, status: 200 },
  { name: "enable", method: "POST", path: (id: string) => `/admin/users/${id}/enable`, status: 200 },
  {
    name: "set roles",
    method: "PUT",
    path: (id: string) => `/admin/users/${id}/roles`,
    json: { roles: ["support", "user"] },
    status: 200,
  },
  { name: "end sessions", method: "DELETE", path: (id: string) => `/admin/users/${id}/sessions`, status: 200 },
  { name: "delete", method: "DELETE", path: (id: string) => `/admin/users/${id}`, status: 204 },
] as const;

type How = "cookie" | "bearer" | "memory";
const CASES: { strategy: Strategy; how: How }[] = (["session", "jwt", "hybrid"] as const).flatMap((strategy) =>
  (["cookie", "bearer", "memory"] as const).map((how) => ({ strategy, how })),
);

/** The access token a caller holds: its bearer token, or the access cookie of `jwt`/`hybrid`. */
function accessTokenOf(caller: Caller): string | undefined {
  if (caller.bearer) return caller.bearer;
  return [...caller.jar.values()].find((value) => /^eyJ[\w-]*\.[\w-]+\.[\w-]+$/.test(value));
}

function claimsOf(caller: Caller): { auth_time?: number; amr?: string[] } {
  const token = accessTokenOf(caller);
  if (!token) throw new Error("no access token");
  return decodeJwt(token) as { auth_time?: number; amr?: string[] };
}

async function signIn(caller: Caller, how: How, name: string): Promise<Caller> {
  if (how === "cookie") return caller.login(name);
  if (how === "bearer") return caller.token(name);
  const answer = await caller.send("POST", "/auth/login", {
    json: { username: name, password: PASSWORD, mode: "memory" },
    headers: { "x-requested-with": "latchkey" },
  });
  if (answer.status !== 200) throw new Error(`memory login ${name}: ${answer.status} ${answer.text}`);
  caller.bearer = answer.json().access_token;
  return caller;
}

/** Both doors on one in-memory core with the window; the Fastify one to test through. */
async function fastifyDoor(
  strategy: Strategy,
  clock: ManualClock,
  extra: Parameters<typeof adminCore>[1] = {},
): Promise<{ auth: Auth; door: Door; close: () => Promise<void> }> {
  const doors = await openDoors(strategy, {
    auth: () => adminCore(createMemoryStores(), { clock, reauthWindow: WINDOW, ...extra }),
  });
  const fastify = doors.find((d) => d.name === "fastify");
  if (!fastify) throw new Error("no doors");
  const close = async () => {
    for (const d of doors) await d.close();
  };
  return { auth: fastify.auth, door: fastify.door, close };
}

function reauthenticate(caller: Caller, password = PASSWORD) {
  return caller.send("POST", "/auth/reauthenticate", { json: { password } });
}

describe.each(CASES)("STRATEGY=$strategy, a $how caller", ({ strategy, how }) => {
  let clock: ManualClock;
  let doors: Awaited<ReturnType<typeof openDoors>>;
  beforeAll(async () => {
    clock = manualClock(START);
    doors = await openDoors(strategy, { auth: () => adminCore(createMemoryStores(), { clock, reauthWindow: WINDOW }) });
  });
  afterAll(async () => {
    for (const door of doors) await door.close();
  });

  it.each(["fastify", "fetch"] as const)(
    "through %s: every admin change is refused outside the window, nothing changes, and it passes after re-authentication",
    async (name) => {
      const { auth, door } = doors.find((d) => d.name === name) as { auth: Auth; door: Door };
      const root = await userWith(auth, `${name}root`, ["admin", "user"]);
      const target = await userWith(auth, `${name}target`);
      const admin = await signIn(new Caller(door), how, root.username);
      const signedInAt = Math.floor(clock.now() / 1000);
      if (how !== "cookie" || strategy !== "session") {
        expect(claimsOf(admin)).toMatchObject({ auth_time: signedInAt, amr: ["pwd"] });
      }
      // Fresh from the sign-in: a change passes.
      const fresh = await admin.send("POST", WRITES[1].path(target.id));
      expect(fresh.status, fresh.text).toBe(200);

      clock.advance(STALE);
      for (const write of WRITES) {
        const answer = await admin.send(
          write.method,
          write.path(target.id),
          "json" in write ? { json: write.json } : {},
        );
        expect(answer.status, `${write.name}: ${answer.text}`).toBe(403);
        expect(codeOf(answer)).toBe("reauthentication_required");
        expect(answer.json().error.message).toBe("This needs a recent sign-in: confirm your password.");
      }
      const detail = await auth.admin.user(target.id);
      expect(detail?.user).toMatchObject({ disabledAt: null, roles: ["user"] });
      // Reading is not a change: it needs no recent sign-in.
      expect((await admin.send("GET", "/admin/users")).status).toBe(200);

      const wrong = await reauthenticate(admin, "not the password");
      expect(wrong.status).toBe(401);
      expect(codeOf(wrong)).toBe("invalid_credentials");
      expect((await admin.send("POST", WRITES[0].path(target.id))).status).toBe(403);

      const before = accessTokenOf(admin);
      const confirmed = await reauthenticate(admin);
      expect(confirmed.status, confirmed.text).toBe(200);
      const body = confirmed.json();
      expect(body).toMatchObject({ authTime: new Date(clock.now()).toISOString(), amr: ["pwd"], reauthWindow: WINDOW });
      if (how === "cookie") {
        expect(body.access_token).toBeUndefined();
        if (strategy === "session") expect(body.accessExpiresIn).toBeUndefined();
        else {
          // A new access cookie, whose auth_time is now.
          expect(body.accessExpiresIn).toBeGreaterThan(0);
          expect(accessTokenOf(admin)).not.toBe(before);
          expect(claimsOf(admin)).toMatchObject({ auth_time: Math.floor(clock.now() / 1000), amr: ["pwd"] });
        }
      } else {
        expect(body).toMatchObject({ token_type: "Bearer", expires_in: expect.any(Number) });
        expect(decodeJwt(body.access_token)).toMatchObject({ auth_time: Math.floor(clock.now() / 1000) });
        admin.bearer = body.access_token;
      }

      for (const write of WRITES) {
        const answer = await admin.send(
          write.method,
          write.path(target.id),
          "json" in write ? { json: write.json } : {},
        );
        expect(answer.status, `${write.name}: ${answer.text}`).toBe(write.status);
      }
      expect(await auth.admin.user(target.id)).toBeNull();
      const events = await auth.log.list(root.id);
      expect(events.filter((event) => event.type === "reauthenticated")).toHaveLength(1);

      // The window runs again from the re-authentication.
      clock.advance(STALE);
      const other = await userWith(auth, `${name}other`);
      expect(codeOf(await admin.send("POST", WRITES[0].path(other.id)))).toBe("reauthentication_required");
    },
  );
});

describe("re-authentication", () => {
  let clock: ManualClock;
  let auth: Auth;
  let door: Door;
  let close: () => Promise<void>;
  beforeAll(async () => {
    clock = manualClock(START);
    ({ auth, door, close } = await fastifyDoor("jwt", clock));
  });
  afterAll(() => close());

  it("is throttled like a password change: wrong passwords count, then even the right one is 429 with Retry-After", async () => {
    const user = await userWith(auth, "throttled");
    const caller = await new Caller(door).login(user.username);
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) statuses.push((await reauthenticate(caller, `wrong ${i}`)).status);
    expect(statuses).toContain(401);
    expect(statuses.at(-1)).toBe(429);
    // Each checked wrong password is in the owner's log (someone at a session left open).
    const failed = (await auth.log.list(user.id)).filter((event) => event.type === "reauthentication_failed");
    expect(failed).toHaveLength(statuses.filter((status) => status === 401).length);
    const refused = await reauthenticate(caller);
    expect(refused.status).toBe(429);
    expect(codeOf(refused)).toBe("rate_limited");
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
  });

  it("on one instance counts at once on another that read the session a moment before (its second-long copy)", async () => {
    const shared = createMemoryStores();
    const instances = await openDoors("jwt", {
      auth: () => adminCore(shared, { clock, reauthWindow: WINDOW }),
    });
    const [one, two] = instances;
    if (!one || !two) throw new Error("no doors");
    try {
      const root = await userWith(one.auth, "tworoot", ["admin", "user"]);
      const target = await userWith(one.auth, "twotarget");
      const admin = await new Caller(one.door).token(root.username);
      clock.advance(STALE);
      const viaTwo = new Caller(two.door);
      viaTwo.bearer = admin.bearer;
      // Instance two reads the session, now stale, and keeps it for a second.
      expect(codeOf(await viaTwo.send("POST", `/admin/users/${target.id}/disable`))).toBe("reauthentication_required");
      expect((await reauthenticate(admin)).status).toBe(200);
      // The same (older) token on instance two, within that second: the store says recent.
      const answer = await viaTwo.send("POST", `/admin/users/${target.id}/disable`);
      expect(answer.status, answer.text).toBe(200);
    } finally {
      for (const instance of instances) await instance.close();
    }
  });

  it("needs the CSRF header by cookie, and a signed-in caller", async () => {
    const user = await userWith(auth, "csrf");
    const caller = await new Caller(door).login(user.username);
    const forged = await caller.send("POST", "/auth/reauthenticate", { json: { password: PASSWORD }, csrf: false });
    expect(forged.status).toBe(403);
    expect(codeOf(forged)).toBe("csrf_failed");
    const nobody = await new Caller(door).send("POST", "/auth/reauthenticate", { json: { password: PASSWORD } });
    expect(nobody.status).toBe(401);
    const bad = await caller.send("POST", "/auth/reauthenticate", { json: { password: 42 } });
    expect(bad.status).toBe(400);
  });

  it("under jwt, a refresh after it issues tokens with the new auth_time", async () => {
    const user = await userWith(auth, "refresher");
    const caller = await new Caller(door).token(user.username);
    const signedInAt = Math.floor(clock.now() / 1000);
    clock.advance(STALE);
    expect((await reauthenticate(caller)).status).toBe(200);
    const reauthenticatedAt = Math.floor(clock.now() / 1000);
    expect(reauthenticatedAt).toBeGreaterThan(signedInAt);
    clock.advance(5_000);
    const refreshed = await caller.send("POST", "/auth/refresh", { json: { refresh_token: caller.refreshToken } });
    expect(refreshed.status, refreshed.text).toBe(200);
    expect(decodeJwt(refreshed.json().access_token)).toMatchObject({ auth_time: reauthenticatedAt, amr: ["pwd"] });
  });

  it("a plain user outside the window is still refused for the permission, not asked to re-authenticate", async () => {
    const user = await userWith(auth, "plain");
    const target = await userWith(auth, "plaintarget");
    const caller = await new Caller(door).login(user.username);
    clock.advance(STALE);
    expect(codeOf(await caller.send("POST", `/admin/users/${target.id}/disable`))).toBe("forbidden");
  });
});

describe("the routes whose body carries the password", () => {
  let clock: ManualClock;
  let auth: Auth;
  let door: Door;
  let close: () => Promise<void>;
  beforeAll(async () => {
    clock = manualClock(START);
    const mail = { transport: async () => {}, from: "Latchkey <no-reply@example.com>" };
    ({ auth, door, close } = await fastifyDoor("hybrid", clock, { mail, factors: { keys: [randomBytes(32)] } }));
  });
  afterAll(() => close());

  const ROUTES = [
    {
      name: "password change",
      method: "POST",
      path: "/auth/password",
      json: { currentPassword: PASSWORD, newPassword: "a whole new passphrase" },
    },
    {
      name: "email change",
      method: "PUT",
      path: "/auth/email",
      json: { email: "new@example.com", password: PASSWORD },
    },
    { name: "account deletion", method: "DELETE", path: "/auth/account", json: { password: PASSWORD } },
  ] as const;

  it.each(ROUTES)("$name passes outside the window while the account has no second factor", async (route) => {
    const user = await userWith(auth, "carrier");
    const caller = await new Caller(door).login(user.username);
    clock.advance(STALE);
    const answer = await caller.send(route.method, route.path, { json: route.json });
    expect(answer.status, answer.text).toBeLessThan(300);
  });

  it.each(ROUTES)("$name needs a recent sign-in with the factor once the account has one", async (route) => {
    const user = await userWith(auth, "factor");
    // A session opened with the password before the app was added (a thief's, say)...
    const before = await new Caller(door).login(user.username);
    const enrolment = await auth.factors.beginTotp(user);
    const key = totpKey(enrolment.secret);
    await auth.factors.confirmTotp(user.id, enrolment.factorId, totpCode(key, totpStep(clock.now())), {});
    // ...is recent, but not a sign-in with the factor: refused even inside the window.
    const early = await before.send(route.method, route.path, { json: route.json });
    expect(codeOf(early), early.text).toBe("reauthentication_required");
    const reauthenticated = await before.send("POST", "/auth/reauthenticate", {
      json: { password: PASSWORD, code: totpCode(key, totpStep(clock.now()) + 1) },
    });
    expect(reauthenticated.status, reauthenticated.text).toBe(200);
    clock.advance(STALE);
    const refused = await before.send(route.method, route.path, { json: route.json });
    expect(refused.status).toBe(403);
    expect(codeOf(refused)).toBe("reauthentication_required");
    expect(await auth.stores.users.findById(user.id)).toMatchObject({ email: null });
    // The password alone no longer re-authenticates: the code comes with it.
    expect(codeOf(await reauthenticate(before))).toBe("invalid_code");
    const again = await before.send("POST", "/auth/reauthenticate", {
      json: { password: PASSWORD, code: totpCode(key, totpStep(clock.now())) },
    });
    expect(again.status, again.text).toBe(200);
    const answer = await before.send(route.method, route.path, { json: route.json });
    expect(answer.status, answer.text).toBeLessThan(300);
  });
});

describe("the window's setting", () => {
  it("createAuth refuses a window that is not 1 to 86400 whole seconds", async () => {
    const base = {
      stores: createMemoryStores(),
      sessions: DEFAULT_SESSION_POLICY,
      throttle: { maxFailures: 5, addressMaxFailures: 100, window: 900 },
      tokens: {
        alg: "EdDSA" as const,
        issuer: "http://localhost",
        accessTokenTtl: 600,
        clockTolerance: 5,
        revocation: "immediate" as const,
        refreshReuseLeeway: 10,
      },
    };
    for (const reauthWindow of [0, -1, 1.5, 86_401, Number.NaN]) {
      await expect(createAuth({ ...base, reauthWindow })).rejects.toThrow(/option reauthWindow must be/);
    }
    const auth = await createAuth(base);
    expect(auth.recentSignIn.window).toBe(600);
    await auth.close();
  });

  it("REAUTH_WINDOW is read and checked like the other settings", () => {
    expect(loadConfig({ DATABASE_URL: "sqlite::memory:", REAUTH_WINDOW: "300" }).reauthWindow).toBe(300);
    expect(loadConfig({ DATABASE_URL: "sqlite::memory:" }).reauthWindow).toBe(600);
    expect(() => loadConfig({ DATABASE_URL: "sqlite::memory:", REAUTH_WINDOW: "0" })).toThrow(/REAUTH_WINDOW/);
  });

  it("GET /auth/info tells the window in force", async () => {
    const h = await startHarness({ REAUTH_WINDOW: "120" });
    try {
      const info = await h.client().get("/auth/info");
      expect(info.json()).toMatchObject({ reauthWindow: 120 });
    } finally {
      await h.close();
    }
  });
});
