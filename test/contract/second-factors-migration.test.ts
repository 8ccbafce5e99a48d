/**
 * Issue 32's second migration (`0009-second-factors`) on SQLite and PostgreSQL: a user of
 * before takes factors, recovery codes and challenges; a passkey's credential id is unique
 * while any number of TOTP factors have none; all of a user's go with them (a challenge of
 * nobody yet stays); and the migration undoes cleanly and applies again.
 */
import { type Kysely, sql } from "kysely";
import { expect } from "vitest";
import type { FactorRecord } from "../../packages/latchkey/src/core/records.js";
import { makeUser } from "../../packages/latchkey/src/testing/fixtures.js";
import { backToBefore, describeMigration } from "./migration-targets.js";

/** Inserts a user as the previous release does. */
async function insertUserAsBefore(db: Kysely<unknown>, id: string, username: string, at: number): Promise<void> {
  await sql`insert into users (id, username, password_hash, created_at, roles, roles_at)
    values (${id}, ${username}, 'x', ${at}, '["user"]', ${at})`.execute(db);
}

const factor = (id: string, userId: string, at: number, extra: Partial<FactorRecord> = {}): FactorRecord => ({
  id,
  userId,
  kind: "totp",
  name: "Phone",
  secret: "sealed",
  credentialId: null,
  publicKey: null,
  signCount: null,
  transports: null,
  createdAt: at,
  confirmedAt: at,
  lastUsedAt: null,
  lastStep: 58_000_000,
  ...extra,
});

const passkey = (id: string, userId: string, at: number): FactorRecord =>
  factor(id, userId, at, {
    kind: "passkey",
    secret: null,
    credentialId: "cred-1",
    publicKey: "cose",
    signCount: 2 ** 32 - 1,
    transports: "internal",
    lastStep: null,
  });

const challenge = (id: string, userId: string | null, at: number) => ({
  id,
  userId,
  purpose: "second_factor" as const,
  secretHash: "h",
  data: "{}",
  createdAt: at,
  expiresAt: at + 300_000,
  usedAt: null,
  failures: 0,
});

describeMigration(
  "the second factors migration",
  "0009-second-factors",
  "users of before take factors, codes and challenges, which go with them; it undoes and applies again",
  async (t) => {
    const alice = makeUser("alice");
    const bob = makeUser("bob");
    const at = Date.now() - 60_000;
    await insertUserAsBefore(t.db, alice.id, "alice", at);
    await insertUserAsBefore(t.db, bob.id, "bob", at);

    const stores = await t.open();
    try {
      // One confirmed app per user (factors_one_totp); a pending one beside it is fine.
      const totps = [
        factor("t1", alice.id, at),
        factor("t2", alice.id, at + 1, { confirmedAt: null }),
        factor("t3", bob.id, at),
      ];
      for (const one of totps) await stores.factors.create(one);
      // Refused by the index (the store answers false for a unique index's refusal), and not stored.
      expect(await stores.factors.create(factor("t4", alice.id, at + 1))).toBe(false);
      await stores.factors.create(passkey("p1", alice.id, at + 2));
      // factors_credential_id: one credential id, registered once.
      expect(await stores.factors.create(passkey("p2", bob.id, at + 3))).toBe(false);
      expect(await stores.factors.listByUser(alice.id)).toEqual([
        ...totps.slice(0, 2),
        passkey("p1", alice.id, at + 2),
      ]);
      await stores.factors.replaceRecoveryCodes(alice.id, ["c1", "c2"], at);
      await stores.challenges.create(challenge("ch-alice", alice.id, at));
      await stores.challenges.create(challenge("ch-nobody", null, at));
      expect(await stores.challenges.fail("ch-alice", at + 1)).toBe(1);
      expect(await stores.users.delete(alice.id)).toBe(true);
      expect(await stores.factors.listByUser(alice.id)).toEqual([]);
      expect(await stores.factors.countRecoveryCodes(alice.id)).toBe(0);
      expect(await stores.challenges.find("ch-alice")).toBeNull();
      expect(await stores.challenges.find("ch-nobody")).not.toBeNull();
      expect(await stores.factors.find("t3")).toEqual(totps[2]);
    } finally {
      await stores.close();
    }

    // Undone, the previous release's schema is back: no new table, users as before.
    await backToBefore(t);
    for (const table of ["factors", "recovery_codes", "challenges"]) {
      await expect(sql`select * from ${sql.table(table)}`.execute(t.db)).rejects.toThrow(new RegExp(table));
    }
    await insertUserAsBefore(t.db, "after-undo", "carol", at);

    // And it applies again over that.
    const again = await t.open();
    try {
      await again.factors.create(factor("t4", bob.id, at));
      expect((await again.factors.listByUser(bob.id)).map((f) => f.id)).toEqual(["t4"]);
    } finally {
      await again.close();
    }
  },
);
