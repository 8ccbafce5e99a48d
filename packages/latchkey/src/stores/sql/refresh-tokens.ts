/** The SQL `RefreshTokenStore`. */
import type { Kysely } from "kysely";
import type { RefreshTokenStore } from "../../core/ports.js";
import { toRefreshToken } from "./rows.js";
import type { Database } from "./schema.js";

export function refreshTokenStore(db: Kysely<Database>): RefreshTokenStore {
  return {
    async create(token) {
      await db
        .insertInto("refresh_tokens")
        .values({
          id: token.id,
          session_id: token.sessionId,
          secret_hash: token.secretHash,
          created_at: token.createdAt,
          expires_at: token.expiresAt,
          rotated_at: token.rotatedAt,
        })
        .execute();
    },
    async find(id) {
      const row = await db.selectFrom("refresh_tokens").selectAll().where("id", "=", id).executeTakeFirst();
      return row ? toRefreshToken(row) : null;
    },
    async markRotated(id, now) {
      // One conditional UPDATE: the database lets exactly one of two racing calls match.
      const result = await db
        .updateTable("refresh_tokens")
        .set({ rotated_at: now })
        .where("id", "=", id)
        .where("rotated_at", "is", null)
        .executeTakeFirst();
      return result.numUpdatedRows > 0n;
    },
    async retireForSession(sessionId, now) {
      await db
        .updateTable("refresh_tokens")
        .set({ rotated_at: now })
        .where("session_id", "=", sessionId)
        .where("rotated_at", "is", null)
        .execute();
    },
  };
}
