/**
 * Issue 27, the admin HTTP API's behaviour through the Fastify plugin: listing and search,
 * one user's detail, disable and enable, ending sessions, setting roles (and what the
 * user's tokens and cookies see after), deleting; every action in the user's own log and
 * in the audit log with who, when and from where. The last admin is kept (409
 * `last_admin`, also when two admins demote each other at the same instant, on SQLite and
 * PostgreSQL); bad input is a clear 4xx that changes nothing; unsafe routes need the CSRF
 * header and our origin, and are throttled per administrator.
 */
import Fastify from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { latchkey } from "../../packages/latchkey/src/adapters/fastify.js";
import { createFetchHandler } from "../../packages/latchkey/src/adapters/fetch.js";
import { type Auth, DEFAULT_TOKEN_POLICY } from "../../packages/latchkey/src/core/auth.js";
import { type ManualClock, manualClock } from "../../packages/latchkey/src/core/clock.js";
import type { Stores } from "../../packages/latchkey/src/core/ports.js";
import { BUILT_IN_PERMISSIONS } from "../../packages/latchkey/src/core/roles.js";
import { ADMIN_WRITES_PER_MINUTE } from "../../packages/latchkey/src/http/admin-caller.js";
import type { Strategy } from "../../packages/latchkey/src/http/context.js";
import { createMemoryStores } from "../../packages/latchkey/src/stores/memory/index.js";
import { openPostgresStores } from "../../packages/latchkey/src/stores/postgres/index.js";
import { openSqliteStores } from "../../packages/latchkey/src/stores/sqlite/index.js";
import {
  adminCore,
  Caller,
  codeOf,
  type Door,
  fastifyDoor,
  OPERATOR,
  ORIGIN,
  openDoors,
  PASSWORD,
  userWith,
} from "../helpers/admin.js";
import { freshSchema, postgresAvailable } from "../helpers/postgres.js";

const START = Date.parse("2026-03-01T12:00:00.000Z");
const ADMIN_IP = "198.51.100.4";

interface World {
  auth: Auth;
  clock: ManualClock;
  door: Door;
  root: { id: string; username: string };
  /** `root`, an admin, signed in by cookie from `ADMIN_IP`. */
  admin: Caller;
  close(): Promise<void>;
}

/** A core on a frozen clock behind the Fastify plugin, with one admin signed in. */
async function world(strategy: Strategy = "session", stores: Stores = createMemoryStores()): Promise<World> {
  const clock = manualClock(START);
  const auth = await adminCore(stores, { clock });
  const app = Fastify();
  await app.register(latchkey, { auth, publicOrigin: ORIGIN, strategy, maintenance: false });
  const door = fastifyDoor(app, ADMIN_IP);
  const root = await userWith(auth, "root", ["admin", "user"]);
  const admin = await new Caller(door).login(root.username);
  return { auth, clock, door, root, admin, close: () => app.close() };
}

/** What an admin action may change about a user, and the audit log's length. */
async function snapshot(auth: Auth, userId: string) {
  const detail = await auth.admin.user(userId);
  const audit = await auth.admin.events({ limit: 200 });
  return {
    user: detail?.user ?? null,
    sessions: detail?.sessions.map((s) => s.id) ?? [],
    events: detail?.events.length ?? 0,
    audit: audit.events.length,
  };
}

describe("listing and detail", () => {
  let w: World;
  beforeAll(async () => {
    w = await world();
  });
  afterAll(() => w.close());

  it("lists users by search and role, a page at a time, every user exactly once", async () => {
    const stem = `lst${Math.random().toString(36).slice(2, 7)}`;
    const made = [];
    for (let i = 0; i < 7; i++) made.push(await userWith(w.auth, stem, i < 3 ? ["support", "user"] : ["user"]));
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = `q=${stem.toUpperCase()}&limit=2${cursor ? `&cursor=${cursor}` : ""}`;
      const page = await w.admin.send("GET", `/admin/users?${query}`);
      expect(page.status).toBe(200);
      const body = page.json();
      expect(body.users.length).toBeLessThanOrEqual(2);
      seen.push(...body.users.map((u: { username: string }) => u.username));
      cursor = body.nextCursor;
      pages += 1;
    } while (cursor && pages < 10);
    expect(pages).toBe(4);
    expect(seen).toEqual(made.map((u) => u.username).sort());
    const support = (await w.admin.send("GET", `/admin/users?q=${stem}&role=support`)).json();
    expect(support.users.map((u: { username: string }) => u.username)).toEqual(
      made
        .slice(0, 3)
        .map((u) => u.username)
        .sort(),
    );
    expect(support.users[0]).toEqual({
      id: expect.any(String),
      username: expect.any(String),
      createdAt: new Date(START).toISOString(),
      disabledAt: null,
      roles: ["support", "user"],
    });
    expect(support.nextCursor).toBeNull();
    const admins = (await w.admin.send("GET", "/admin/users?role=admin")).json();
    expect(admins.users.map((u: { id: string }) => u.id)).toEqual([w.root.id]);
  });

  it("shows one user with their live sessions and security events; an unknown id is 404", async () => {
    const target = await userWith(w.auth, "detail");
    await new Caller(w.door).login(target.username);
    await new Caller(w.door).token(target.username);
    const detail = await w.admin.send("GET", `/admin/users/${target.id}`);
    expect(detail.status).toBe(200);
    const body = detail.json();
    expect(body.user).toMatchObject({ id: target.id, username: target.username, roles: ["user"], disabledAt: null });
    expect(body.sessions.map((s: { strategy: string }) => s.strategy).sort()).toEqual(["bearer", "session"]);
    expect(body.sessions.every((s: { current: boolean }) => s.current === false)).toBe(true);
    expect(body.events.map((e: { type: string }) => e.type)).toEqual(["login", "login"]);
    const missing = await w.admin.send("GET", "/admin/users/no-such-user");
    expect([missing.status, codeOf(missing)]).toEqual([404, "not_found"]);
  });

  it("lists the roles with what each grants, and every permission", async () => {
    const body = (await w.admin.send("GET", "/admin/roles")).json();
    expect(body.roles).toEqual([
      { name: "admin", permissions: [...BUILT_IN_PERMISSIONS].sort() },
      { name: "support", permissions: ["sessions:revoke", "users:read"] },
      { name: "user", permissions: [] },
    ]);
    expect(body.permissions).toEqual([...BUILT_IN_PERMISSIONS].sort());
  });
});

describe("actions, each in the user's log and the audit log", () => {
  let w: World;
  beforeAll(async () => {
    w = await world();
  });
  afterAll(() => w.close());

  /** The newest audit entry about a user, as the API shows it. */
  async function lastAudit(userId: string) {
    const page = await w.admin.send("GET", `/admin/events?userId=${userId}&limit=1`);
    expect(page.status).toBe(200);
    return page.json().events[0];
  }

  it("disable ends the user's sessions and logins, and is logged with the admin and address; enable undoes it", async () => {
    const target = await userWith(w.auth, "dis");
    const browser = await new Caller(w.door).login(target.username);
    const api = await new Caller(w.door).token(target.username);
    w.clock.advance(1000);
    const disabled = await w.admin.send("POST", `/admin/users/${target.id}/disable`);
    expect(disabled.status).toBe(200);
    expect(disabled.json().user).toMatchObject({ id: target.id, disabledAt: new Date(START + 1000).toISOString() });
    expect((await browser.send("GET", "/auth/me")).status).toBe(401);
    expect((await api.send("GET", "/auth/me")).status).toBe(401);
    const login = await new Caller(w.door).send("POST", "/auth/login", {
      json: { username: target.username, password: PASSWORD },
    });
    expect([login.status, codeOf(login)]).toEqual([403, "account_disabled"]);
    expect((await w.auth.log.list(target.id)).map((e) => e.type)).toContain("account_disabled");
    expect(await lastAudit(target.id)).toEqual({
      id: expect.any(String),
      at: new Date(START + 1000).toISOString(),
      actor: { id: w.root.id, username: w.root.username },
      action: "user_disabled",
      target: { id: target.id, username: target.username },
      ip: ADMIN_IP,
      userAgent: w.admin.userAgent,
      detail: null,
    });

    const enabled = await w.admin.send("POST", `/admin/users/${target.id}/enable`);
    expect(enabled.status).toBe(200);
    expect(enabled.json().user.disabledAt).toBeNull();
    await new Caller(w.door).login(target.username);
    expect((await w.auth.log.list(target.id)).map((e) => e.type)).toContain("account_enabled");
    expect((await lastAudit(target.id)).action).toBe("user_enabled");
  });

  it("ending a user's sessions signs out every device and says how many", async () => {
    const target = await userWith(w.auth, "ends");
    const one = await new Caller(w.door).login(target.username);
    const two = await new Caller(w.door).token(target.username);
    const ended = await w.admin.send("DELETE", `/admin/users/${target.id}/sessions`);
    expect([ended.status, ended.json()]).toEqual([200, { ended: 2 }]);
    expect((await one.send("GET", "/auth/me")).status).toBe(401);
    expect((await two.send("GET", "/auth/me")).status).toBe(401);
    expect((await w.auth.log.list(target.id)).filter((e) => e.type === "session_revoked")).toHaveLength(2);
    expect(await lastAudit(target.id)).toMatchObject({ action: "sessions_revoked", detail: { sessions: 2 } });
    expect((await w.admin.send("DELETE", `/admin/users/${target.id}/sessions`)).json()).toEqual({ ended: 0 });
  });

  it("deleting a user ends their sessions and removes them; the audit log keeps their name", async () => {
    const target = await userWith(w.auth, "del");
    const browser = await new Caller(w.door).login(target.username);
    const deleted = await w.admin.send("DELETE", `/admin/users/${target.id}`);
    expect([deleted.status, deleted.text]).toEqual([204, ""]);
    expect((await browser.send("GET", "/auth/me")).status).toBe(401);
    expect((await w.admin.send("GET", `/admin/users/${target.id}`)).status).toBe(404);
    const login = await new Caller(w.door).send("POST", "/auth/login", {
      json: { username: target.username, password: PASSWORD },
    });
    expect(login.status).toBe(401);
    expect(await lastAudit(target.id)).toMatchObject({
      action: "user_deleted",
      actor: { id: w.root.id, username: w.root.username },
      target: { id: target.id, username: target.username },
    });
    expect((await w.admin.send("DELETE", `/admin/users/${target.id}`)).status).toBe(404);
  });

  it("pages through the audit log, newest first, each entry once", async () => {
    const target = await userWith(w.auth, "pages");
    for (let i = 0; i < 4; i++) {
      w.clock.advance(1);
      await w.admin.send("POST", `/admin/users/${target.id}/${i % 2 === 0 ? "disable" : "enable"}`);
    }
    const ids: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: { events: { id: string; at: string }[]; nextCursor: string | null } = (
        await w.admin.send("GET", `/admin/events?limit=2${cursor ? `&cursor=${cursor}` : ""}`)
      ).json();
      ids.push(...page.events.map((e) => e.id));
      cursor = page.nextCursor;
      pages += 1;
    } while (cursor && pages < 50);
    const all = await w.auth.admin.events({ limit: 200 });
    expect(ids).toEqual(all.events.map((e) => e.id));
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.length).toBeGreaterThanOrEqual(9);
    expect(pages).toBe(Math.ceil(ids.length / 2));
    const times = all.events.map((e) => e.at);
    expect(times).toEqual([...times].sort((a, b) => b - a));
    const about = (await w.admin.send("GET", `/admin/events?userId=${target.id}`)).json();
    expect(about.events.map((e: { action: string }) => e.action)).toEqual([
      "user_enabled",
      "user_disabled",
      "user_enabled",
      "user_disabled",
    ]);
  });
});

describe.each(["session", "jwt", "hybrid"] as Strategy[])("setting roles, AUTH_STRATEGY=%s", (strategy) => {
  let w: World;
  beforeAll(async () => {
    w = await world(strategy);
  });
  afterAll(() => w.close());

  it("takes effect at once: the old access token is refused, a refresh and the cookie session see the new roles", async () => {
    const target = await userWith(w.auth, "promo");
    const browser = await new Caller(w.door).login(target.username);
    const api = await new Caller(w.door).token(target.username);
    expect((await api.send("GET", "/admin/users")).status).toBe(403);
    w.clock.advance(1000);
    const set = await w.admin.send("PUT", `/admin/users/${target.id}/roles`, { json: { roles: ["user", "support"] } });
    expect(set.status).toBe(200);
    expect(set.json().user).toMatchObject({ id: target.id, roles: ["support", "user"] });
    const audit = (await w.admin.send("GET", `/admin/events?userId=${target.id}`)).json().events[0];
    expect(audit).toMatchObject({
      action: "roles_set",
      actor: { id: w.root.id, username: w.root.username },
      ip: ADMIN_IP,
      detail: { from: ["user"], to: ["support", "user"] },
    });
    expect((await w.auth.log.list(target.id)).map((e) => e.type)).toContain("roles_changed");

    // The API client: its token is refused on this instance at once; a refresh brings the roles.
    const stale = await api.send("GET", "/auth/me");
    expect([stale.status, codeOf(stale)]).toEqual([401, "invalid_token"]);
    const refreshed = await new Caller(w.door).send("POST", "/auth/refresh", {
      json: { refresh_token: api.refreshToken },
    });
    expect(refreshed.status).toBe(200);
    api.bearer = refreshed.json().access_token;
    const me = (await api.send("GET", "/auth/me")).json();
    expect([me.user.roles, me.permissions]).toEqual([
      ["support", "user"],
      ["sessions:revoke", "users:read"],
    ]);
    expect((await api.send("GET", "/admin/users")).status).toBe(200);
    expect((await api.send("POST", `/admin/users/${w.root.id}/disable`)).status).toBe(403);

    // The browser: its next request sees the new roles (under jwt, after the refresh its
    // refused access cookie asks for, as for any expired one).
    let next = await browser.send("GET", "/auth/me");
    if (strategy === "jwt") {
      expect([next.status, codeOf(next)]).toEqual([401, "unauthenticated"]);
      expect((await browser.send("POST", "/auth/refresh")).status).toBe(200);
      next = await browser.send("GET", "/auth/me");
    }
    expect(next.status).toBe(200);
    expect(next.json().user.roles).toEqual(["support", "user"]);
    expect((await browser.send("GET", "/admin/users")).status).toBe(200);
  });

  it("the same roles again change nothing: no audit entry, no token refused", async () => {
    const target = await userWith(w.auth, "same", ["support", "user"]);
    const api = await new Caller(w.door).token(target.username);
    const before = await snapshot(w.auth, target.id);
    const set = await w.admin.send("PUT", `/admin/users/${target.id}/roles`, { json: { roles: ["support", "user"] } });
    expect(set.status).toBe(200);
    expect(await snapshot(w.auth, target.id)).toEqual(before);
    expect((await api.send("GET", "/auth/me")).status).toBe(200);
  });
});

describe("REVOCATION=expiry", () => {
  it("a demoted admin's token still verifies until exp, but the admin routes read the roles stored now: 403", async () => {
    const auth = await adminCore(createMemoryStores(), {
      tokens: { ...DEFAULT_TOKEN_POLICY, issuer: ORIGIN, revocation: "expiry" },
    });
    const app = Fastify();
    await app.register(latchkey, { auth, publicOrigin: ORIGIN, maintenance: false });
    try {
      const door = fastifyDoor(app);
      await userWith(auth, "keeper", ["admin", "user"]);
      const demoted = await userWith(auth, "demoted", ["admin", "user"]);
      const api = await new Caller(door).token(demoted.username);
      const target = await userWith(auth, "victim");
      expect((await api.send("GET", "/admin/users")).status).toBe(200);
      await auth.admin.setRoles(demoted.id, ["user"], OPERATOR);
      // The token verifies (expiry mode), and says admin; the admin routes do not trust it.
      expect((await api.send("GET", "/auth/sessions")).status).toBe(200);
      for (const [method, path] of [
        ["GET", "/admin/users"],
        ["POST", `/admin/users/${target.id}/disable`],
      ] as const) {
        const answer = await api.send(method, path);
        expect([path, answer.status, codeOf(answer)]).toEqual([path, 403, "forbidden"]);
      }
      expect((await auth.admin.user(target.id))?.user.disabledAt).toBeNull();
    } finally {
      await app.close();
    }
  });
});

describe("review: an instance the feed has not reached yet", () => {
  it("reads the admin's roles from the store on every admin request, never from the second-long session memory", async () => {
    const auth = await adminCore(createMemoryStores());
    const app = Fastify();
    await app.register(latchkey, { auth, publicOrigin: ORIGIN, maintenance: false });
    try {
      const door = fastifyDoor(app);
      await userWith(auth, "keeper2", ["admin", "user"]);
      const demoted = await userWith(auth, "demoted2", ["admin", "user"]);
      const api = await new Caller(door).token(demoted.username);
      // Warms the memory of the token's session, as any admin request would.
      expect((await api.send("GET", "/admin/users")).status).toBe(200);
      // Another instance demotes them; this one has not heard yet (the store changed, no feed entry).
      expect(typeof (await auth.stores.users.setRoles(demoted.id, ["user"], Date.now()))).toBe("number");
      const answer = await api.send("PUT", `/admin/users/${demoted.id}/roles`, { json: { roles: ["admin", "user"] } });
      expect([answer.status, codeOf(answer)]).toEqual([403, "forbidden"]);
      expect((await auth.stores.users.findById(demoted.id))?.roles).toEqual(["user"]);
    } finally {
      await app.close();
    }
  });
});

describe("the last admin", () => {
  let w: World;
  beforeAll(async () => {
    w = await world();
  });
  afterAll(() => w.close());

  it("cannot be demoted, disabled or deleted: 409 last_admin, and nothing changed", async () => {
    const before = await snapshot(w.auth, w.root.id);
    const tries = [
      w.admin.send("PUT", `/admin/users/${w.root.id}/roles`, { json: { roles: ["user"] } }),
      w.admin.send("POST", `/admin/users/${w.root.id}/disable`),
      w.admin.send("DELETE", `/admin/users/${w.root.id}`),
    ];
    for (const answer of tries) {
      const got = await answer;
      expect([got.status, codeOf(got)]).toEqual([409, "last_admin"]);
    }
    expect(await snapshot(w.auth, w.root.id)).toEqual(before);
    expect((await w.admin.send("GET", "/auth/me")).json().user.roles).toEqual(["admin", "user"]);
  });

  it("a disabled admin does not count; with another enabled admin, demoting oneself works", async () => {
    const other = await userWith(w.auth, "second", ["admin", "user"]);
    expect((await w.admin.send("POST", `/admin/users/${other.id}/disable`)).status).toBe(200);
    const alone = await w.admin.send("PUT", `/admin/users/${w.root.id}/roles`, { json: { roles: ["user"] } });
    expect([alone.status, codeOf(alone)]).toEqual([409, "last_admin"]);
    expect((await w.admin.send("POST", `/admin/users/${other.id}/enable`)).status).toBe(200);
    const otherAdmin = await new Caller(w.door).login(other.username);
    const demoted = await otherAdmin.send("PUT", `/admin/users/${w.root.id}/roles`, { json: { roles: ["user"] } });
    expect(demoted.status).toBe(200);
    const last = await otherAdmin.send("PUT", `/admin/users/${other.id}/roles`, { json: { roles: ["user"] } });
    expect([last.status, codeOf(last)]).toEqual([409, "last_admin"]);
    // The demoted admin's session sees it on its next request.
    expect((await w.admin.send("GET", "/admin/users")).status).toBe(403);
  });
});

const CONCURRENT_STORES: [string, () => Promise<{ stores: Stores; drop(): Promise<void> }>][] = [
  ["SQLite", async () => ({ stores: await openSqliteStores({ path: ":memory:" }), drop: async () => {} })],
];
if (postgresAvailable) {
  CONCURRENT_STORES.push([
    "PostgreSQL",
    async () => {
      const schema = await freshSchema();
      return { stores: await openPostgresStores({ url: schema.url }), drop: schema.drop };
    },
  ]);
}

describe.each(CONCURRENT_STORES)("two admins at once, on %s", (_name, open) => {
  let opened: { stores: Stores; drop(): Promise<void> };
  let w: World;
  beforeAll(async () => {
    opened = await open();
    w = await world("session", opened.stores);
  });
  afterAll(async () => {
    await w.close();
    await opened.stores.close();
    await opened.drop();
  });

  /**
   * Holds the next two calls of `method` of the real user store until both have arrived, so
   * both requests have passed every check (authentication, permission, throttle) and the
   * store alone settles which wins. A call that finds no partner within 2 s goes on alone.
   */
  function meetAtTheStore(method: "setRoles" | "setDisabled"): () => void {
    const users = opened.stores.users as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
    const real = users[method] as (...args: unknown[]) => Promise<unknown>;
    const waiting: (() => void)[] = [];
    users[method] = function (this: unknown, ...args: unknown[]) {
      return new Promise<void>((resolve) => {
        waiting.push(resolve);
        if (waiting.length === 2) for (const go of waiting) go();
        setTimeout(resolve, 2000).unref();
      }).then(() => real.apply(this, args));
    };
    return () => {
      users[method] = real;
    };
  }

  it("review: ids, searches and cursors no store can compare (a NUL byte, a fractional or huge time) are a 4xx, never a store outage", async () => {
    const target = await userWith(w.auth, `nul${Date.now() % 100000}`);
    const cursor = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
    const cases: [string, string, number][] = [
      ["GET", "/admin/users/%00", 404],
      ["POST", "/admin/users/%00/disable", 404],
      ["PUT", "/admin/users/a%00b/roles", 404],
      ["DELETE", "/admin/users/%00", 404],
      ["GET", "/admin/users?q=%00", 400],
      ["GET", `/admin/users?cursor=${cursor({ username: "a\u0000" })}`, 400],
      ["GET", `/admin/events?cursor=${cursor({ at: 1.5, id: "x" })}`, 400],
      ["GET", `/admin/events?cursor=${cursor({ at: 1e300, id: "x" })}`, 400],
      ["GET", `/admin/events?cursor=${cursor({ at: 1, id: "x\u0000" })}`, 400],
      ["GET", "/admin/events?userId=%00", 400],
    ];
    for (const [method, path, status] of cases) {
      const answer = await w.admin.send(method, path, method === "PUT" ? { json: { roles: ["user"] } } : {});
      expect([method, path, answer.status]).toEqual([method, path, status]);
    }
    expect((await w.auth.admin.user(target.id))?.user.disabledAt).toBeNull();
  });

  it("demoting (or disabling) each other at the same time: exactly one 409 last_admin, one admin left", async () => {
    // root is the other admin of the first round; each round starts with two.
    let a = w.root;
    let aCaller = w.admin;
    for (let round = 0; round < 6; round++) {
      const b = await userWith(w.auth, `rival${round}`, ["admin", "user"]);
      const bCaller = await new Caller(w.door).login(b.username);
      const action = round % 2 === 0 ? "demote" : "disable";
      const attack = (caller: Caller, victim: string) =>
        action === "demote"
          ? caller.send("PUT", `/admin/users/${victim}/roles`, { json: { roles: ["user"] } })
          : caller.send("POST", `/admin/users/${victim}/disable`);
      const release = meetAtTheStore(action === "demote" ? "setRoles" : "setDisabled");
      const answers = await Promise.all([attack(aCaller, b.id), attack(bCaller, a.id)]).finally(release);
      const outcome = answers.map((answer) => `${answer.status} ${codeOf(answer) ?? ""}`.trim()).sort();
      expect({ round, action, outcome }).toEqual({ round, action, outcome: ["200", "409 last_admin"] });
      const admins = (await w.auth.admin.listUsers({ role: "admin", limit: 200 })).users.filter(
        (user) => user.disabledAt === null,
      );
      expect(admins).toHaveLength(1);
      // The survivor faces the next rival.
      const survivorIsA = admins[0]?.id === a.id;
      const loser = survivorIsA ? b : a;
      if (action === "disable") await w.auth.admin.enable(loser.id, OPERATOR);
      await w.auth.admin.setRoles(loser.id, ["user"], OPERATOR);
      if (!survivorIsA) {
        a = b;
        aCaller = bCaller;
      }
    }
  });
});

describe("bad input: a clear 4xx, and nothing changed", () => {
  let w: World;
  beforeAll(async () => {
    w = await world();
  });
  afterAll(() => w.close());

  it("a role list that is not one, is empty or names an unknown role; an unknown user", async () => {
    const target = await userWith(w.auth, "bad");
    await new Caller(w.door).login(target.username);
    const before = await snapshot(w.auth, target.id);
    const path = `/admin/users/${target.id}/roles`;
    const bad: [unknown, RegExp][] = [
      [{ roles: ["wizard"] }, /wizard/],
      [{ roles: ["user", "Admin"] }, /Admin/],
      [{ roles: [] }, /at least one/],
      [{ roles: "admin" }, /roles/],
      [{ roles: [1] }, /roles/],
      [{}, /roles/],
      [[], /body/],
      [{ roles: Array.from({ length: 100 }, (_, i) => `r${i}`) }, /roles/],
    ];
    for (const [json, message] of bad) {
      const answer = await w.admin.send("PUT", path, { json });
      expect([JSON.stringify(json).slice(0, 40), answer.status, codeOf(answer)]).toEqual([
        JSON.stringify(json).slice(0, 40),
        400,
        "invalid_request",
      ]);
      expect(answer.json().error.message).toMatch(message);
    }
    const unknown = await w.admin.send("PUT", "/admin/users/no-such-user/roles", { json: { roles: ["admin"] } });
    expect([unknown.status, codeOf(unknown)]).toEqual([404, "not_found"]);
    for (const [method, suffix] of [
      ["GET", ""],
      ["POST", "/disable"],
      ["POST", "/enable"],
      ["DELETE", "/sessions"],
      ["DELETE", ""],
    ] as const) {
      const answer = await w.admin.send(method, `/admin/users/no-such-user${suffix}`);
      expect([method, suffix, answer.status, codeOf(answer)]).toEqual([method, suffix, 404, "not_found"]);
    }
    expect(await snapshot(w.auth, target.id)).toEqual(before);
  });

  it("a huge or malformed page size, a bad cursor, an unknown role filter", async () => {
    for (const query of [
      "limit=0",
      "limit=201",
      "limit=1000000",
      "limit=99999999999999",
      "limit=-1",
      "limit=abc",
      "limit=1.5",
      "cursor=garbage",
      "cursor=%25%25%25",
      `cursor=${"x".repeat(600)}`,
      "role=wizard",
    ]) {
      const answer = await w.admin.send("GET", `/admin/users?${query}`);
      expect([query, answer.status, codeOf(answer)]).toEqual([query, 400, "invalid_request"]);
    }
    for (const query of [
      "limit=0",
      "limit=500",
      "cursor=garbage",
      `cursor=${Buffer.from('{"at":"x"}').toString("base64url")}`,
    ]) {
      const answer = await w.admin.send("GET", `/admin/events?${query}`);
      expect([query, answer.status, codeOf(answer)]).toEqual([query, 400, "invalid_request"]);
    }
    expect((await w.admin.send("GET", "/admin/users?limit=200")).status).toBe(200);
  });
});

describe.each(["session", "jwt", "hybrid"] as Strategy[])("cross-site and CSRF, AUTH_STRATEGY=%s", (strategy) => {
  let w: World;
  beforeAll(async () => {
    w = await world(strategy);
  });
  afterAll(() => w.close());

  it("a cookie write without X-CSRF-Token is 403 csrf_failed; from another site 403 forbidden_origin; nothing changed", async () => {
    const target = await userWith(w.auth, "csrf");
    await new Caller(w.door).login(target.username);
    const before = await snapshot(w.auth, target.id);
    const writes: [string, string, unknown][] = [
      ["POST", "/disable", undefined],
      ["POST", "/enable", undefined],
      ["DELETE", "/sessions", undefined],
      ["PUT", "/roles", { roles: ["admin", "user"] }],
      ["DELETE", "", undefined],
    ];
    for (const [method, suffix, json] of writes) {
      const path = `/admin/users/${target.id}${suffix}`;
      const noToken = await w.admin.send(method, path, { json, csrf: false });
      expect([method, path, noToken.status, codeOf(noToken)]).toEqual([method, path, 403, "csrf_failed"]);
      const crossSite = await w.admin.send(method, path, { json, headers: { origin: "https://evil.example" } });
      expect([method, path, crossSite.status, codeOf(crossSite)]).toEqual([method, path, 403, "forbidden_origin"]);
      const fetchSite = await w.admin.send(method, path, {
        json,
        headers: { origin: "", "sec-fetch-site": "cross-site" },
      });
      expect(fetchSite.status).toBe(403);
    }
    expect(await snapshot(w.auth, target.id)).toEqual(before);
  });
});

describe("throttling", () => {
  let w: World;
  beforeAll(async () => {
    w = await world();
  });
  afterAll(() => w.close());

  it(`an admin's changes past ${ADMIN_WRITES_PER_MINUTE} a minute are 429 with Retry-After; reads and other admins go on`, async () => {
    const target = await userWith(w.auth, "thr");
    const path = `/admin/users/${target.id}/enable`;
    for (let i = 0; i < ADMIN_WRITES_PER_MINUTE; i++) expect((await w.admin.send("POST", path)).status).toBe(200);
    w.clock.advance(15_000);
    const refused = await w.admin.send("POST", path);
    expect([refused.status, codeOf(refused)]).toEqual([429, "rate_limited"]);
    expect(Number(refused.headers.get("retry-after"))).toBe(45);
    // Refused before the work: a refused change changes nothing.
    const before = await snapshot(w.auth, target.id);
    expect((await w.admin.send("POST", `/admin/users/${target.id}/disable`)).status).toBe(429);
    expect(await snapshot(w.auth, target.id)).toEqual(before);
    expect((await w.admin.send("GET", "/admin/users")).status).toBe(200);
    const other = await userWith(w.auth, "thr2", ["admin", "user"]);
    expect((await (await new Caller(w.door).token(other.username)).send("POST", path)).status).toBe(200);
    w.clock.advance(45_000);
    expect((await w.admin.send("POST", path)).status).toBe(200);
  });
});

describe("routes: { admin: false }", () => {
  it("turns /admin/* off in every door; the rest stays", async () => {
    const doors = await openDoors("session", { routes: { admin: false } });
    try {
      for (const { auth, door, name } of doors) {
        const root = await userWith(auth, "off", ["admin", "user"]);
        const admin = await new Caller(door).login(root.username);
        expect([name, (await admin.send("GET", "/admin/users")).status]).toEqual([name, 404]);
        expect([name, (await admin.send("GET", "/admin/roles")).status]).toEqual([name, 404]);
        expect([name, (await admin.send("GET", "/auth/me")).status]).toEqual([name, 200]);
      }
    } finally {
      for (const door of doors) await door.close();
    }
    const auth = await adminCore();
    expect(() => createFetchHandler({ auth, publicOrigin: ORIGIN, routes: { admin: "no" as never } })).toThrow(
      /routes\.admin/,
    );
  });
});
