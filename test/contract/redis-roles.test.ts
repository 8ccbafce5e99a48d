/**
 * Issue 27: a Redis session value carries its user's roles (so a role check is the one
 * read the request makes anyway). These cases need Redis's insides, so they are not in the
 * store contract: a login that read its user before a role change must still store the new
 * roles, and a value written before roles existed reads as `["user"]` and takes a change.
 */
import { randomUUID } from "node:crypto";
import { afterEach, beforeEach, expect, it } from "vitest";
import type { UserStore } from "../../packages/latchkey/src/core/ports.js";
import { createMemoryStores } from "../../packages/latchkey/src/stores/memory/index.js";
import { makeSession, makeUser } from "../../packages/latchkey/src/testing/fixtures.js";
import { redisAvailable } from "../helpers/redis.js";
import { describeWith } from "../helpers/services.js";
import { type OldValues, oldValue, openOldValues } from "./redis-old-values.js";

const now = Date.now();

describeWith("Redis", redisAvailable)("Redis: the roles each session value carries", () => {
  let t: OldValues;
  /** Runs once, inside the next `findById` of the durable store, after its read. */
  let duringNextRead: (() => Promise<unknown>) | undefined;

  beforeEach(async () => {
    const memory = createMemoryStores();
    const users: UserStore = {
      ...memory.users,
      async findById(id) {
        const user = await memory.users.findById(id);
        const during = duringNextRead;
        duringNextRead = undefined;
        await during?.();
        return user;
      },
    };
    t = await openOldValues({ ...memory, users });
  });
  afterEach(() => t.close());

  it("a login that read its user before a role change stores the changed roles", async () => {
    const { stores } = t;
    const root = makeUser("root", { roles: ["admin", "user"] });
    const alice = makeUser("alice");
    await stores.users.create(root);
    await stores.users.create(alice);
    // The login reads alice, then (before it stores the session) an admin makes her one.
    const login = makeSession(alice.id);
    duringNextRead = () => stores.users.setRoles(alice.id, ["admin", "user"], now + 10);
    await stores.sessions.create(login);
    expect(duringNextRead).toBeUndefined();
    expect((await stores.sessions.findWithUser(login.id))?.user).toMatchObject({
      roles: ["admin", "user"],
      rolesAt: now + 10,
    });
  });

  it("a session value written before roles reads as the default role, and takes a change", async () => {
    const { stores, writeOld } = t;
    const root = makeUser("root", { roles: ["admin", "user"] });
    const alice = makeUser("alice");
    await stores.users.create(root);
    await stores.users.create(alice);
    const old = makeSession(alice.id);
    // The layout before issue 27: thirteen fields, no roles, no rolesAt.
    await writeOld(old, oldValue(old, alice, 13));
    expect((await stores.sessions.findWithUser(old.id))?.user).toEqual({
      id: alice.id,
      username: "alice",
      createdAt: alice.createdAt,
      disabledAt: null,
      roles: ["user"],
      rolesAt: 0,
    });
    expect(await stores.users.setRoles(alice.id, ["editor", "user"], now + 20)).toBe(now + 20);
    const found = await stores.sessions.findWithUser(old.id);
    expect(found?.user).toMatchObject({ roles: ["editor", "user"], rolesAt: now + 20 });
    expect(found?.session).toEqual(old);
    expect(await stores.sessions.findWithUser(randomUUID())).toBeNull();
  });
});
