/**
 * Issue 28: a Redis session value carries the previous secret's hash and when the secret
 * was renewed, as two fields appended to its MessagePack array. These cases need Redis's
 * insides, so they are not in the store contract: values written before (15 fields, and
 * 13 from before roles) read as never renewed and take a renewal (still an array, the
 * fields between filled), a renewal moves the key's expiry as a touch does, and racing
 * renewals on two connections leave exactly one winner.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { SecretRenewal } from "../../packages/latchkey/src/core/ports.js";
import { makeSession, makeUser } from "../../packages/latchkey/src/testing/fixtures.js";
import { redisAvailable } from "../helpers/redis.js";
import { describeWith } from "../helpers/services.js";
import { type OldValues, oldValue, openOldValues } from "./redis-old-values.js";

const now = Date.now();

const renewal = (secretHash: string, at: number): SecretRenewal => ({
  secretHash,
  at,
  lastSeenAt: at,
  idleExpiresAt: at + 600_000,
});

describeWith("Redis", redisAvailable)("Redis: a session value's previous secret and renewal time", () => {
  let t: OldValues;

  beforeEach(async () => {
    t = await openOldValues();
  });
  afterEach(() => t.close());

  for (const length of [15, 13] as const) {
    const layout = length === 15 ? "15 fields (before renewal)" : "13 fields (before roles)";
    it(`a value of ${layout} reads as never renewed, and takes a renewal and a password change`, async () => {
      const { stores, writeOld, stored } = t;
      const alice = makeUser("alice");
      await stores.users.create(alice);
      const old = makeSession(alice.id, { createdAt: now - 60_000, lastSeenAt: now - 30_000 });
      expect(old).toMatchObject({ previousSecretHash: null, secretRotatedAt: now - 60_000 });
      await writeOld(old, oldValue(old, alice, length));
      expect((await stores.sessions.findWithUser(old.id))?.session).toEqual(old);

      expect(await stores.sessions.renewSecret(old.id, old.secretHash, renewal("renewed", now))).toBe(true);
      const value = await stored(old.id);
      expect(Array.isArray(value)).toBe(true);
      expect(value).toHaveLength(17);
      const found = await stores.sessions.findWithUser(old.id);
      expect(found?.session).toEqual({
        ...old,
        secretHash: "renewed",
        previousSecretHash: old.secretHash,
        secretRotatedAt: now,
        lastSeenAt: now,
        idleExpiresAt: now + 600_000,
      });
      // The fields filled in between read as the value read before: the default role.
      expect(found?.user).toMatchObject({ roles: ["user"], rolesAt: length === 15 ? alice.rolesAt : 0 });

      const older = makeSession(alice.id);
      await writeOld(older, oldValue(older, alice, length));
      expect(await stores.sessions.replaceSecret(older.id, "after-password", now + 5)).toBe(true);
      expect(Array.isArray(await stored(older.id))).toBe(true);
      expect((await stores.sessions.findWithUser(older.id))?.session).toEqual({
        ...older,
        secretHash: "after-password",
        secretRotatedAt: now + 5,
      });
    });
  }

  it("a renewal moves the key's expiry to the new idle expiry, as a touch does; a password change keeps it", async () => {
    const { stores, raw, keys } = t;
    const alice = makeUser("alice");
    await stores.users.create(alice);
    const one = makeSession(alice.id, { idleExpiresAt: now + 600_000 });
    await stores.sessions.create(one);
    const expiry = () => raw.call("PEXPIRETIME", keys.session(one.id));
    expect(await expiry()).toBe(now + 600_000);
    expect(await stores.sessions.touch(one.id, now + 1000, now + 700_000)).toBe(true);
    expect(await expiry()).toBe(now + 700_000);
    expect(await stores.sessions.renewSecret(one.id, one.secretHash, renewal("b", now + 2000))).toBe(true);
    expect(await expiry()).toBe(now + 602_000);
    expect(await stores.sessions.replaceSecret(one.id, "c", now + 3000)).toBe(true);
    expect(await expiry()).toBe(now + 602_000);
    // A renewal that lost changes nothing, the expiry included.
    expect(await stores.sessions.renewSecret(one.id, "b", renewal("d", now + 4000))).toBe(false);
    expect(await expiry()).toBe(now + 602_000);
  });

  describe("racing renewals on two connections", () => {
    it("of 8 renewals from one secret, spread over two handles, exactly one wins, in each of 5 rounds", async () => {
      const { stores, open } = t;
      const other = await open();
      const alice = makeUser("alice");
      await stores.users.create(alice);
      const one = makeSession(alice.id);
      await stores.sessions.create(one);
      let current = one.secretHash;
      for (let round = 0; round < 5; round++) {
        const secrets = Array.from({ length: 8 }, (_, i) => `r${round}-${i}`);
        const results = await Promise.all(
          secrets.map((secret, i) =>
            (i % 2 === 0 ? stores : other).sessions.renewSecret(one.id, current, renewal(secret, now + round)),
          ),
        );
        expect(results.filter(Boolean)).toHaveLength(1);
        const winner = secrets[results.indexOf(true)] as string;
        for (const handle of [stores, other]) {
          expect((await handle.sessions.findWithUser(one.id))?.session).toMatchObject({
            secretHash: winner,
            previousSecretHash: current,
          });
        }
        current = winner;
      }
    });
  });
});
