/**
 * Roles and permissions in the core (issue 27): the role model a deployment declares, and
 * a role change reaching every access token at once, on this instance and on another
 * that shares the stores (through the change feed), while a refresh brings the new roles.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { AdminContext } from "../../packages/latchkey/src/core/admin.js";
import type { Auth } from "../../packages/latchkey/src/core/auth.js";
import { AuthError } from "../../packages/latchkey/src/core/errors.js";
import { BUILT_IN_PERMISSIONS, RoleModel } from "../../packages/latchkey/src/core/roles.js";
import { createMemoryStores } from "../../packages/latchkey/src/stores/memory/index.js";
import { hostCore, PASSWORD } from "../helpers/host-app.js";

const CLI: AdminContext = { actor: null, ip: "", userAgent: "test" };
const CLIENT = { ip: "192.0.2.1", userAgent: "test" };

describe("RoleModel", () => {
  it("has user and admin built in: admin holds every built-in permission, user none", () => {
    const model = new RoleModel();
    expect(model.roles).toEqual(["admin", "user"]);
    for (const permission of BUILT_IN_PERMISSIONS) {
      expect(model.can(["admin"], permission)).toBe(true);
      expect(model.can(["user"], permission)).toBe(false);
    }
    expect(model.permissionsOf(["user"])).toEqual([]);
  });

  it("takes the app's permissions and roles, and grants by any role held", () => {
    const model = new RoleModel({
      permissions: ["todos:read-any"],
      roles: { admin: ["todos:read-any"], support: ["users:read", "sessions:revoke"] },
    });
    expect(model.roles).toEqual(["admin", "support", "user"]);
    expect(model.can(["admin"], "todos:read-any")).toBe(true);
    expect(model.can(["support"], "users:read")).toBe(true);
    expect(model.can(["support"], "users:delete")).toBe(false);
    expect(model.can(["user", "support"], "sessions:revoke")).toBe(true);
    expect(model.permissionsOf(["support", "user"])).toEqual(["sessions:revoke", "users:read"]);
  });

  it("refuses an undeclared permission, a bad role name or a bad permission name at start-up, naming it", () => {
    expect(() => new RoleModel({ roles: { support: ["users:raed"] } })).toThrow(
      /"users:raed".*not a declared permission/,
    );
    expect(() => new RoleModel({ roles: { Support: [] } })).toThrow(/"Support" is not a role name/);
    expect(() => new RoleModel({ permissions: ["todos"] })).toThrow(/"todos" is not a permission name/);
  });

  it("calls a typo in a check a TypeError, never a silent false", () => {
    const model = new RoleModel();
    expect(() => model.can(["admin"], "user:read")).toThrow(TypeError);
    expect(() => model.assertRole("admn")).toThrow(/"admn" is not a declared role/);
  });

  it("parses a role list from a client: sorted, once each; empty, unknown or not a list is invalid_request naming it", () => {
    const model = new RoleModel({ roles: { support: [] } });
    expect(model.parse(["user", "admin", "user"])).toEqual(["admin", "user"]);
    const refusal = (input: unknown) => {
      try {
        model.parse(input);
      } catch (error) {
        return error instanceof AuthError ? `${error.code}: ${error.message}` : String(error);
      }
      return "accepted";
    };
    expect(refusal([])).toMatch(/^invalid_request: .*at least one role/);
    expect(refusal(["user", "root"])).toMatch(
      /^invalid_request: Unknown role: "root" \(the roles are admin, support, user\)/,
    );
    expect(refusal("admin")).toMatch(/^invalid_request: roles must be a list/);
    expect(refusal([1])).toMatch(/^invalid_request: roles must be a list/);
  });
});

describe("a role change", () => {
  const opened: Auth[] = [];
  afterEach(async () => {
    for (const auth of opened.splice(0)) await auth.close();
  });

  async function signedIn(auth: Auth, name: string) {
    const user = await auth.accounts.register(name, PASSWORD);
    const { session } = await auth.sessions.signIn({ userId: user.id, kind: "bearer", remember: false, ...CLIENT });
    const refresh = await auth.refreshTokens.issue(session);
    const access = await auth.accessTokens.issueFor(session, user);
    return { user, session, refresh, access: access.token };
  }

  it("refuses the user's earlier access tokens at once; a refresh brings a token with the new roles", async () => {
    const auth = await hostCore();
    opened.push(auth);
    const { user, refresh, access } = await signedIn(auth, "carol");
    const before = await auth.accessTokens.verify(access);
    expect(before.ok && before.claims.roles).toEqual(["user"]);

    await auth.admin.setRoles(user.id, ["admin", "user"], CLI);
    expect(await auth.accessTokens.verify(access)).toEqual({
      ok: false,
      reason: "revoked",
      sessionId: expect.any(String),
    });

    const rotated = await auth.refreshTokens.rotate(refresh, CLIENT);
    expect(rotated.user.roles).toEqual(["admin", "user"]);
    const renewed = await auth.accessTokens.issueFor(rotated.session, rotated.user);
    const after = await auth.accessTokens.verify(renewed.token);
    expect(after.ok && after.claims.roles).toEqual(["admin", "user"]);
  });

  it("a token issued in the same millisecond as the change, after it, passes (rolesAt, not iat, decides)", async () => {
    const now = Date.UTC(2026, 11, 6, 9);
    const auth = await hostCore(createMemoryStores(), { clock: { now: () => now } });
    opened.push(auth);
    const { user, session } = await signedIn(auth, "dave");
    const changed = await auth.admin.setRoles(user.id, ["admin", "user"], CLI);
    // The clock has not moved: the change and the new token share their second and millisecond.
    const token = (await auth.accessTokens.issueFor(session, changed)).token;
    expect((await auth.accessTokens.verify(token)).ok).toBe(true);
    // A second change in the same millisecond still moves rolesAt forward.
    const again = await auth.admin.setRoles(user.id, ["admin"], CLI);
    expect(again.rolesAt).toBeGreaterThan(changed.rolesAt);
    expect(await auth.accessTokens.verify(token)).toEqual({
      ok: false,
      reason: "revoked",
      sessionId: expect.any(String),
    });
  });

  it("reaches another instance on the same stores through the feed, within a second", async () => {
    const stores = createMemoryStores();
    const one = await hostCore(stores);
    const two = await hostCore(stores);
    opened.push(one, two);
    const { user, access } = await signedIn(one, "erin");
    expect((await two.accessTokens.verify(access)).ok).toBe(true);
    await one.admin.setRoles(user.id, ["admin", "user"], CLI);
    const start = Date.now();
    while ((await two.accessTokens.verify(access)).ok && Date.now() - start < 2000) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(await two.accessTokens.verify(access)).toEqual({
      ok: false,
      reason: "revoked",
      sessionId: expect.any(String),
    });
    expect(Date.now() - start).toBeLessThan(1000);
  });

  it("review: after the feed lost its history, an older token is confirmed against the store's roles, not only its session", async () => {
    const stores = createMemoryStores();
    let epoch = "first";
    const feed = stores.changes;
    const auth = await hostCore({
      ...stores,
      changes: { ...feed, position: async () => ({ ...(await feed.position()), epoch }) },
    });
    opened.push(auth);
    const { user, access } = await signedIn(auth, "kim");
    // A role change whose feed entry was lost (written, never published), then the feed's
    // history is lost too: the follower cannot vouch for tokens from before.
    await stores.users.setRoles(user.id, ["admin", "user"], Date.now() + 1);
    epoch = "second";
    await auth.changes.poll();
    expect(await auth.accessTokens.verify(access)).toEqual({
      ok: false,
      reason: "revoked",
      sessionId: expect.any(String),
    });
  });

  it("review: a retry of a role change whose publish failed publishes it again", async () => {
    const stores = createMemoryStores();
    let failing = true;
    const feed = stores.changes;
    const auth = await hostCore({
      ...stores,
      changes: {
        ...feed,
        publish: async (...args) => {
          if (failing && args[0] === "roles_changed") throw new Error("feed down");
          return feed.publish(...args);
        },
      },
    });
    const other = await hostCore(stores);
    opened.push(auth, other);
    const { user, access } = await signedIn(auth, "lee");
    await expect(auth.admin.setRoles(user.id, ["admin", "user"], CLI)).rejects.toThrow("feed down");
    failing = false;
    await auth.admin.setRoles(user.id, ["admin", "user"], CLI); // the same roles: a retry
    await other.changes.poll();
    expect(await other.accessTokens.verify(access)).toEqual({
      ok: false,
      reason: "revoked",
      sessionId: expect.any(String),
    });
  });

  it("shows a cookie session its new roles on its next request", async () => {
    const auth = await hostCore();
    opened.push(auth);
    const user = await auth.accounts.register("frank", PASSWORD);
    const { token } = await auth.sessions.signIn({ userId: user.id, kind: "session", remember: false, ...CLIENT });
    expect((await auth.sessions.validate(token))?.user.roles).toEqual(["user"]);
    await auth.admin.setRoles(user.id, ["admin", "user"], CLI);
    expect((await auth.sessions.validate(token))?.user.roles).toEqual(["admin", "user"]);
  });

  it("changes nothing, and publishes nothing, when the roles are the same", async () => {
    const auth = await hostCore();
    opened.push(auth);
    const { user, access } = await signedIn(auth, "gina");
    const same = await auth.admin.setRoles(user.id, ["user"], CLI);
    expect(same.rolesAt).toBe(user.rolesAt);
    expect((await auth.accessTokens.verify(access)).ok).toBe(true);
  });

  it("is recorded in the user's security log and the audit log, with who and from where", async () => {
    const auth = await hostCore();
    opened.push(auth);
    const { user } = await signedIn(auth, "hank");
    const admin = { userId: "admin-id", username: "root" };
    await auth.admin.setRoles(user.id, ["admin", "user"], { actor: admin, ip: "198.51.100.7", userAgent: "ua" });
    const [event] = await auth.stores.events.listByUser(user.id, 1);
    expect(event).toMatchObject({ type: "roles_changed", ip: "198.51.100.7" });
    const { events } = await auth.admin.events({ userId: user.id });
    expect(events[0]).toMatchObject({
      action: "roles_set",
      actorUsername: "root",
      targetUsername: "hank",
      ip: "198.51.100.7",
      detail: JSON.stringify({ from: ["user"], to: ["admin", "user"] }),
    });
  });

  it("never demotes, disables or deletes the last enabled admin (409 last_admin), and nothing changes", async () => {
    const auth = await hostCore();
    opened.push(auth);
    const { user } = await signedIn(auth, "ivy");
    await auth.admin.setRoles(user.id, ["admin"], CLI);
    const code = (work: Promise<unknown>) =>
      work.then(
        () => "done",
        (error: unknown) => (error instanceof AuthError ? error.code : String(error)),
      );
    expect(await code(auth.admin.setRoles(user.id, ["user"], CLI))).toBe("last_admin");
    expect(await code(auth.admin.disable(user.id, CLI))).toBe("last_admin");
    expect(await code(auth.admin.deleteUser(user.id, CLI))).toBe("last_admin");
    expect(await code(auth.accounts.disable("ivy"))).toBe("last_admin");
    const still = await auth.stores.users.findById(user.id);
    expect(still).toMatchObject({ roles: ["admin"], disabledAt: null });
    expect(await auth.sessions.listLive(user.id)).toHaveLength(1);
  });
});
