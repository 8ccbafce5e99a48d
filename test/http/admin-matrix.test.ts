/**
 * Issue 27, the matrix: every admin route, called by every kind of caller (nobody, a
 * plain user, the app's own `support` role, an admin), under every strategy's cookies
 * and with a bearer token, through the Fastify plugin and through the fetch adapter's
 * dispatcher. Each answer is exactly what the caller's roles allow (401 without a
 * credential, 403 `forbidden` without the permission, 2xx with it), and the two doors
 * give the same answer to every request.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Auth } from "../../packages/latchkey/src/core/auth.js";
import { BUILT_IN_PERMISSIONS } from "../../packages/latchkey/src/core/roles.js";
import type { Strategy } from "../../packages/latchkey/src/http/context.js";
import { Caller, codeOf, type Door, openDoors, userWith } from "../helpers/admin.js";

interface AdminRoute {
  operationId: string;
  method: "GET" | "POST" | "PUT" | "DELETE";
  path: (target: string) => string;
  permission: string;
  body?: unknown;
  /** The status it answers when allowed. */
  ok: number;
}

const ROUTES: AdminRoute[] = [
  { operationId: "listRoles", method: "GET", path: () => "/admin/roles", permission: "users:read", ok: 200 },
  { operationId: "listUsers", method: "GET", path: () => "/admin/users?limit=5", permission: "users:read", ok: 200 },
  { operationId: "getUser", method: "GET", path: (id) => `/admin/users/${id}`, permission: "users:read", ok: 200 },
  {
    operationId: "disableUser",
    method: "POST",
    path: (id) => `/admin/users/${id}/disable`,
    permission: "users:disable",
    ok: 200,
  },
  {
    operationId: "enableUser",
    method: "POST",
    path: (id) => `/admin/users/${id}/enable`,
    permission: "users:disable",
    ok: 200,
  },
  {
    operationId: "revokeUserSessions",
    method: "DELETE",
    path: (id) => `/admin/users/${id}/sessions`,
    permission: "sessions:revoke",
    ok: 200,
  },
  {
    operationId: "setUserRoles",
    method: "PUT",
    path: (id) => `/admin/users/${id}/roles`,
    permission: "users:set-roles",
    body: { roles: ["support", "user"] },
    ok: 200,
  },
  {
    operationId: "deleteUser",
    method: "DELETE",
    path: (id) => `/admin/users/${id}`,
    permission: "users:delete",
    ok: 204,
  },
  {
    operationId: "listAuditEvents",
    method: "GET",
    path: () => "/admin/events?limit=5",
    permission: "users:read",
    ok: 200,
  },
];

type Role = "anonymous" | "user" | "support" | "admin";
const ROLES: Record<Exclude<Role, "anonymous">, string[]> = {
  user: ["user"],
  support: ["support", "user"],
  admin: ["admin", "user"],
};
const GRANTS: Record<Role, readonly string[]> = {
  anonymous: [],
  user: [],
  support: ["sessions:revoke", "users:read"],
  admin: BUILT_IN_PERMISSIONS,
};

interface Answer {
  status: number;
  code?: string;
  /** The body with every value reduced to its type (ids and times differ between the doors). */
  shape: unknown;
}

function shape(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(shape);
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, v]) => [k, k === "code" || k === "action" || k === "roles" ? v : shape(v)]),
    );
  }
  return value === null ? null : typeof value;
}

/** What a caller must get from a route. */
function expected(role: Role, route: AdminRoute): { status: number; code?: string } {
  if (role === "anonymous") return { status: 401, code: "unauthenticated" };
  if (!GRANTS[role].includes(route.permission)) return { status: 403, code: "forbidden" };
  return { status: route.ok };
}

/**
 * Every route for every caller and credential at one door: `key -> {status, code}`. Each
 * call acts on a user of its own, signed in once, so no call changes what another sees.
 */
async function matrix(auth: Auth, door: Door): Promise<Map<string, Answer>> {
  const out = new Map<string, Answer>();
  const callers: [string, Role, Caller][] = [["anonymous", "anonymous", new Caller(door)]];
  for (const role of ["user", "support", "admin"] as const) {
    const { username } = await userWith(auth, role, ROLES[role]);
    callers.push([`${role} by cookie`, role, await new Caller(door).login(username)]);
    callers.push([`${role} by bearer`, role, await new Caller(door).token(username)]);
  }
  for (const route of ROUTES) {
    for (const [name, role, caller] of callers) {
      const target = await userWith(auth, "target");
      await auth.sessions.signIn({
        userId: target.id,
        kind: "session",
        remember: false,
        ip: "192.0.2.9",
        userAgent: "t",
      });
      const answer = await caller.send(route.method, route.path(target.id), { json: route.body });
      out.set(`${route.operationId} as ${name}`, {
        status: answer.status,
        code: codeOf(answer),
        shape: answer.text === "" ? null : shape(answer.json()),
      });
      // An allowed change happened to the target, and only then.
      if (answer.status < 300 && route.method !== "GET") expect(role).not.toBe("user");
    }
  }
  return out;
}

describe.each(["session", "jwt", "hybrid"] as Strategy[])("AUTH_STRATEGY=%s", (strategy) => {
  let doors: Awaited<ReturnType<typeof openDoors>>;
  beforeAll(async () => {
    doors = await openDoors(strategy);
  });
  afterAll(async () => {
    for (const door of doors) await door.close();
  });

  it("every admin route x every caller x cookie and bearer: 401, 403 or 2xx exactly, the same through both doors", async () => {
    const results = [];
    for (const { auth, door } of doors) results.push(await matrix(auth, door));
    const [viaFastify, viaFetch] = results as [Map<string, Answer>, Map<string, Answer>];
    for (const route of ROUTES) {
      for (const role of ["anonymous", "user", "support", "admin"] as Role[]) {
        const names = role === "anonymous" ? ["anonymous"] : [`${role} by cookie`, `${role} by bearer`];
        for (const name of names) {
          const key = `${route.operationId} as ${name}`;
          const { status, code } = viaFastify.get(key) as Answer;
          expect({ key, status, code }).toEqual({ key, code: undefined, ...expected(role, route) });
          expect({ key, ...viaFetch.get(key) }).toEqual({ key, ...viaFastify.get(key) });
        }
      }
    }
    expect(viaFastify.size).toBe(ROUTES.length * 7);
    expect(viaFetch.size).toBe(viaFastify.size);
  });

  it("GET /auth/me shows each caller's roles and the permissions they grant, by cookie and by bearer", async () => {
    for (const { auth, door } of doors) {
      for (const role of ["user", "support", "admin"] as const) {
        const { username } = await userWith(auth, `me${role}`, ROLES[role]);
        for (const caller of [await new Caller(door).login(username), await new Caller(door).token(username)]) {
          const me = await caller.send("GET", "/auth/me");
          expect(me.status).toBe(200);
          const body = me.json();
          expect(body.user.roles).toEqual(ROLES[role]);
          expect(body.permissions).toEqual([...GRANTS[role]].sort());
          expect(Object.keys(body.user).sort()).toEqual(["createdAt", "id", "roles", "username"]);
        }
      }
    }
  });
});
