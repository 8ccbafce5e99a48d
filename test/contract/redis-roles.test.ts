/**
 * Issue 27: a Redis session value carries its user's roles (so a role check is the one
 * read the request makes anyway). These cases need Redis's insides, so they are not in the
 * store contract: a login that read its user before a role change must still store the new
 * roles, and a value written before roles existed reads as `["user"]` and takes a change.
 */
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterEach, beforeEach, expect, it } from "vitest";
import type { Stores, UserStore } from "../../packages/latchkey/src/core/ports.js";
import { createMemoryStores } from "../../packages/latchkey/src/stores/memory/index.js";
import { openRedisStores } from "../../packages/latchkey/src/stores/redis/index.js";
import { compactUserId, encoder, sessionKeys } from "../../packages/latchkey/src/stores/redis/session-codec.js";
import { makeSession, makeUser } from "../../packages/latchkey/src/testing/fixtures.js";
import { freshPrefix, REDIS_URL, redisAvailable } from "../helpers/redis.js";
import { describeWith } from "../helpers/services.js";

const now = Date.now();

describeWith("Redis", redisAvailable)("Redis: the roles each session value carries", () => {
  let prefix: string;
  let drop: () => Promise<void>;
  let stores: Stores;
  /** Runs once, inside the next `findById` of the durable store, after its read. */
  let duringNextRead: (() => Promise<unknown>) | undefined;

  beforeEach(async () => {
    ({ prefix, drop } = freshPrefix());
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
    stores = await openRedisStores({ url: REDIS_URL, base: { ...memory, users }, prefix });
  });
  afterEach(async () => {
    await stores.close();
    await drop();
  });

  it("a login that read its user before a role change stores the changed roles", async () => {
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
    const root = makeUser("root", { roles: ["admin", "user"] });
    const alice = makeUser("alice");
    await stores.users.create(root);
    await stores.users.create(alice);
    const old = makeSession(alice.id);
    // The layout before issue 27: thirteen fields, no roles, no rolesAt.
    const packed = encoder.encode([
      compactUserId(alice.id),
      old.secretHash,
      0,
      old.remember,
      old.createdAt,
      0,
      old.expiresAt - old.createdAt,
      old.idleTimeoutMs,
      old.idleExpiresAt - old.lastSeenAt,
      old.ip,
      old.userAgent,
      alice.username,
      alice.createdAt,
    ]);
    const keys = sessionKeys(prefix);
    const redis = new Redis(REDIS_URL);
    try {
      await redis.set(keys.session(old.id), Buffer.from(packed), "PXAT", old.idleExpiresAt);
      await redis.hset(keys.userIndex(alice.id), old.id, "");
    } finally {
      redis.disconnect();
    }
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
