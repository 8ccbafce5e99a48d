/**
 * Issue 32: a Redis session value carries when and how the person last proved who they
 * are, as two fields appended to its MessagePack array (18: authTime - createdAt, 19:
 * amr). These cases need Redis's insides, so they are not in the store contract: values
 * written before (17 fields, 15 from before renewal, 13 from before roles) read as signed in
 * with a password at login and take a re-authentication (still an array, the fields between
 * filled as they read), which keeps the key's expiry; later writes keep the new fields.
 */
import { afterEach, beforeEach, expect, it } from "vitest";
import { makeSession, makeUser } from "../../packages/latchkey/src/testing/fixtures.js";
import { redisAvailable } from "../helpers/redis.js";
import { describeWith } from "../helpers/services.js";
import { type OldValues, oldValue, openOldValues } from "./redis-old-values.js";

const now = Date.now();

describeWith("Redis", redisAvailable)("Redis: a session value's sign-in time and methods", () => {
  let t: OldValues;

  beforeEach(async () => {
    t = await openOldValues();
  });
  afterEach(() => t.close());

  for (const length of [17, 15, 13] as const) {
    it(`a value of ${length} fields reads as signed in with a password at login, and takes a re-authentication`, async () => {
      const { stores, raw, keys, writeOld, stored } = t;
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
