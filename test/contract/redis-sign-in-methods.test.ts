/**
 * Issue 32: a Redis session value carries when and how the person last proved who they
 * are, as two fields appended to its MessagePack array (18: authTime - createdAt, 19:
 * amr). These cases need Redis's insides, so they are not in the store contract: values
 * written before (17 fields, 15 from before renewal, 13 from before roles) read as signed in
 * with a password at login and take a re-authentication (still an array, the fields between
 * filled as they read), which keeps the key's expiry; later writes keep the new fields.
 */
import { Redis } from "ioredis";
import { afterEach, beforeEach, expect, it } from "vitest";
import type { Stores } from "../../packages/latchkey/src/core/ports.js";
import type { SessionRecord, UserRecord } from "../../packages/latchkey/src/core/records.js";
import { createMemoryStores } from "../../packages/latchkey/src/stores/memory/index.js";
import { openRedisStores } from "../../packages/latchkey/src/stores/redis/index.js";
import {
  compactUserId,
  decoder,
  encoder,
  sessionKeys,
} from "../../packages/latchkey/src/stores/redis/session-codec.js";
import { makeSession, makeUser } from "../../packages/latchkey/src/testing/fixtures.js";
import { freshPrefix, REDIS_URL, redisAvailable } from "../helpers/redis.js";
import { describeWith } from "../helpers/services.js";

const now = Date.now();

/** A session value as an earlier release wrote it: its first `length` fields (13, 15 or 17). */
function oldValue(session: SessionRecord, user: UserRecord, length: number): Uint8Array {
  const fields: unknown[] = [
    compactUserId(user.id),
    session.secretHash,
    0,
    session.remember,
    session.createdAt,
    session.lastSeenAt - session.createdAt,
    session.expiresAt - session.createdAt,
    session.idleTimeoutMs,
    session.idleExpiresAt - session.lastSeenAt,
    session.ip,
    session.userAgent,
    user.username,
    user.createdAt,
    user.roles,
    user.rolesAt,
    session.previousSecretHash ?? "",
    session.secretRotatedAt - session.createdAt,
  ];
  return encoder.encode(fields.slice(0, length));
}

describeWith("Redis", redisAvailable)("Redis: a session value's sign-in time and methods", () => {
  let prefix: string;
  let drop: () => Promise<void>;
  let stores: Stores;
  let raw: Redis;
  let keys: ReturnType<typeof sessionKeys>;

  beforeEach(async () => {
    ({ prefix, drop } = freshPrefix());
    stores = await openRedisStores({ url: REDIS_URL, base: createMemoryStores(), prefix });
    raw = new Redis(REDIS_URL);
    keys = sessionKeys(prefix);
  });
  afterEach(async () => {
    raw.disconnect();
    await stores.close();
    await drop();
  });

  /** Stores `value` for `session` by hand, as an earlier release would have. */
  async function writeOld(session: SessionRecord, value: Uint8Array): Promise<void> {
    await raw.set(keys.session(session.id), Buffer.from(value), "PXAT", session.idleExpiresAt);
    await raw.hset(keys.userIndex(session.userId), session.id, "");
  }

  /** The stored value, decoded: it must stay an array (cmsgpack packs a table with a hole as a map). */
  async function stored(id: string): Promise<unknown> {
    const packed = await raw.getBuffer(keys.session(id));
    return packed ? decoder.decode(packed) : null;
  }

  for (const length of [17, 15, 13]) {
    it(`a value of ${length} fields reads as signed in with a password at login, and takes a re-authentication`, async () => {
      const alice = makeUser("alice");
      await stores.users.create(alice);
      const old = makeSession(alice.id, { createdAt: now - 60_000, lastSeenAt: now - 30_000 });
      expect(old).toMatchObject({ authTime: now - 60_000, amr: ["pwd"] });
      await writeOld(old, oldValue(old, alice, length));
      expect((await stores.sessions.findWithUser(old.id))?.session).toEqual(old);
      expect(await stores.sessions.listLive(now, alice.id)).toEqual([old]);

      const expiry = () => raw.call("PEXPIRETIME", keys.session(old.id));
      const before = await expiry();
      expect(await stores.sessions.reauthenticate(old.id, now, ["otp", "pwd"])).toBe(true);
      const value = await stored(old.id);
      expect(Array.isArray(value)).toBe(true);
      expect(value).toHaveLength(19);
      expect(await expiry()).toBe(before);
      const found = await stores.sessions.findWithUser(old.id);
      expect(found?.session).toEqual({ ...old, authTime: now, amr: ["otp", "pwd"] });
      // The fields filled in between read as the value read before.
      expect(found?.user).toMatchObject({ roles: ["user"], rolesAt: length > 13 ? alice.rolesAt : 0 });

      // A renewal, a password change and a role change rewrite the value and keep them.
      const renewal = { secretHash: "renewed", at: now + 1, lastSeenAt: now + 1, idleExpiresAt: now + 600_001 };
      expect(await stores.sessions.renewSecret(old.id, old.secretHash, renewal)).toBe(true);
      expect(await stores.sessions.replaceSecret(old.id, "after-password", now + 2)).toBe(true);
      expect(await stores.users.setRoles(alice.id, ["editor", "user"], now + 3)).toBe(now + 3);
      expect((await stores.sessions.findWithUser(old.id))?.session).toMatchObject({
        secretHash: "after-password",
        authTime: now,
        amr: ["otp", "pwd"],
      });
    });
  }
});
