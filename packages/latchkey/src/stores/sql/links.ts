/** The SQL `LinkTokenStore`. */
import type { Kysely } from "kysely";
import type { LinkTokenStore } from "../../core/ports.js";
import { fromLinkToken, toLinkToken } from "./rows.js";
import type { Database } from "./schema.js";

export function linkTokenStore(db: Kysely<Database>): LinkTokenStore {
  return {
    async create(token) {
      await db.insertInto("link_tokens").values(fromLinkToken(token)).execute();
    },
    async find(id) {
      const row = await db.selectFrom("link_tokens").selectAll().where("id", "=", id).executeTakeFirst();
      return row ? toLinkToken(row) : null;
    },
    async use(id, now) {
      // One conditional UPDATE: the database lets exactly one of racing calls match (as
      // `refreshTokens.markRotated`), and only while the token is unexpired.
      const result = await db
        .updateTable("link_tokens")
        .set({ used_at: now })
        .where("id", "=", id)
        .where("used_at", "is", null)
        .where("expires_at", ">", now)
        .executeTakeFirst();
      return result.numUpdatedRows > 0n;
    },
    async findPending(userId, purpose, now) {
      const row = await db
        .selectFrom("link_tokens")
        .selectAll()
        .where("user_id", "=", userId)
        .where("purpose", "=", purpose)
        .where("used_at", "is", null)
        .where("expires_at", ">", now)
        .orderBy("created_at", "desc")
        .orderBy("id", "desc")
        .limit(1)
        .executeTakeFirst();
      return row ? toLinkToken(row) : null;
    },
    async deleteByUser(userId, purpose, keep = {}) {
      let query = db.deleteFrom("link_tokens").where("user_id", "=", userId);
      if (purpose !== undefined) query = query.where("purpose", "=", purpose);
      if (keep.id !== undefined) query = query.where("id", "<>", keep.id);
      if (keep.email != null) query = query.where("email", "<>", keep.email);
      const result = await query.executeTakeFirst();
      return Number(result.numDeletedRows);
    },
    async sweepExpired(now, limit) {
      // By the expires_at index, `limit` rows at a time (as sessions are swept).
      const result = await db
        .deleteFrom("link_tokens")
        .where("id", "in", db.selectFrom("link_tokens").select("id").where("expires_at", "<=", now).limit(limit))
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}
