/** The SQL `FactorStore` and `ChallengeStore`. */
import type { Kysely } from "kysely";
import type { ChallengeStore, FactorStore } from "../../core/ports.js";
import { fromChallenge, fromFactor, toChallenge, toFactor } from "./rows.js";
import type { Database } from "./schema.js";

// Each single-use or replay guard below is one conditional UPDATE: the database lets
// exactly one of racing calls (on any number of instances) match, as
// `refreshTokens.markRotated` and `links.use` do.

export function factorStore(db: Kysely<Database>, isUniqueViolation: (error: unknown) => boolean): FactorStore {
  return {
    async listByUser(userId) {
      const rows = await db
        .selectFrom("factors")
        .selectAll()
        .where("user_id", "=", userId)
        .orderBy("created_at")
        .orderBy("id")
        .execute();
      return rows.map(toFactor);
    },
    async find(id) {
      const row = await db.selectFrom("factors").selectAll().where("id", "=", id).executeTakeFirst();
      return row ? toFactor(row) : null;
    },
    async findByCredential(credentialId) {
      const row = await db
        .selectFrom("factors")
        .selectAll()
        .where("credential_id", "=", credentialId)
        .executeTakeFirst();
      return row ? toFactor(row) : null;
    },
    async create(factor) {
      try {
        await db.insertInto("factors").values(fromFactor(factor)).execute();
        return true;
      } catch (error) {
        // factors_credential_id: this passkey is registered already.
        if (isUniqueViolation(error)) return false;
        throw error;
      }
    },
    async confirm(id, at, step) {
      try {
        const result = await db
          .updateTable("factors")
          .set({ confirmed_at: at, last_step: step })
          .where("id", "=", id)
          .where("confirmed_at", "is", null)
          .executeTakeFirst();
        return result.numUpdatedRows > 0n;
      } catch (error) {
        // factors_one_totp: the user has a confirmed app already (a racing set-up won).
        if (isUniqueViolation(error)) return false;
        throw error;
      }
    },
    async useStep(id, step, at) {
      const result = await db
        .updateTable("factors")
        .set({ last_step: step, last_used_at: at })
        .where("id", "=", id)
        .where("confirmed_at", "is not", null)
        .where((eb) => eb.or([eb("last_step", "is", null), eb("last_step", "<", step)]))
        .executeTakeFirst();
      return result.numUpdatedRows > 0n;
    },
    async usePasskey(id, signCount, at) {
      const result = await db
        .updateTable("factors")
        .set({ sign_count: signCount, last_used_at: at })
        .where("id", "=", id)
        .where("kind", "=", "passkey")
        // Past the stored count; or 0 again from an authenticator that does not count.
        .where((eb) => eb.or([eb("sign_count", "is", null), eb("sign_count", signCount === 0 ? "=" : "<", signCount)]))
        .executeTakeFirst();
      return result.numUpdatedRows > 0n;
    },
    async rename(id, name) {
      const result = await db.updateTable("factors").set({ name }).where("id", "=", id).executeTakeFirst();
      return result.numUpdatedRows > 0n;
    },
    async updateSecret(id, secret) {
      const result = await db.updateTable("factors").set({ secret }).where("id", "=", id).executeTakeFirst();
      return result.numUpdatedRows > 0n;
    },
    async delete(id) {
      const result = await db.deleteFrom("factors").where("id", "=", id).executeTakeFirst();
      return result.numDeletedRows > 0n;
    },
    async deletePending(userId, kind) {
      let query = db.deleteFrom("factors").where("user_id", "=", userId).where("confirmed_at", "is", null);
      if (kind !== undefined) query = query.where("kind", "=", kind);
      const result = await query.executeTakeFirst();
      return Number(result.numDeletedRows);
    },
    async replaceRecoveryCodes(userId, hashes, at) {
      // One transaction: a reader never sees the old codes gone and the new ones missing.
      await db.transaction().execute(async (trx) => {
        await trx.deleteFrom("recovery_codes").where("user_id", "=", userId).execute();
        if (hashes.length === 0) return;
        const rows = hashes.map((code_hash) => ({ user_id: userId, code_hash, created_at: at, used_at: null }));
        await trx.insertInto("recovery_codes").values(rows).execute();
      });
    },
    async useRecoveryCode(userId, hash, at) {
      const result = await db
        .updateTable("recovery_codes")
        .set({ used_at: at })
        .where("user_id", "=", userId)
        .where("code_hash", "=", hash)
        .where("used_at", "is", null)
        .executeTakeFirst();
      return result.numUpdatedRows > 0n;
    },
    async countRecoveryCodes(userId) {
      const row = await db
        .selectFrom("recovery_codes")
        .select((eb) => eb.fn.countAll<number | string | bigint>().as("unused"))
        .where("user_id", "=", userId)
        .where("used_at", "is", null)
        .executeTakeFirstOrThrow();
      return Number(row.unused);
    },
    async deleteRecoveryCodes(userId) {
      const result = await db.deleteFrom("recovery_codes").where("user_id", "=", userId).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}

export function challengeStore(db: Kysely<Database>): ChallengeStore {
  return {
    async create(challenge) {
      await db.insertInto("challenges").values(fromChallenge(challenge)).execute();
    },
    async find(id) {
      const row = await db.selectFrom("challenges").selectAll().where("id", "=", id).executeTakeFirst();
      return row ? toChallenge(row) : null;
    },
    async fail(id, now) {
      // The count comes back from the same statement: two racing failures read 1 and 2,
      // never both 1.
      const row = await db
        .updateTable("challenges")
        .set((eb) => ({ failures: eb("failures", "+", 1) }))
        .where("id", "=", id)
        .where("used_at", "is", null)
        .where("expires_at", ">", now)
        .returning("failures")
        .executeTakeFirst();
      return row ? Number(row.failures) : null;
    },
    async use(id, now) {
      const result = await db
        .updateTable("challenges")
        .set({ used_at: now })
        .where("id", "=", id)
        .where("used_at", "is", null)
        .where("expires_at", ">", now)
        .executeTakeFirst();
      return result.numUpdatedRows > 0n;
    },
    async deleteByUser(userId) {
      const result = await db.deleteFrom("challenges").where("user_id", "=", userId).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
    async sweepExpired(now, limit) {
      // By the expires_at index, `limit` rows at a time (as link tokens are swept).
      const result = await db
        .deleteFrom("challenges")
        .where("id", "in", db.selectFrom("challenges").select("id").where("expires_at", "<=", now).limit(limit))
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}
