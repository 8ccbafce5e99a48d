/** The SQL `SessionStore`, but for the request path's lookup, which each backend prepares itself. */
import type { Kysely } from "kysely";
import type { SessionStore } from "../../core/ports.js";
import { fromSession, toSession } from "./rows.js";
import type { Database } from "./schema.js";

export function sessionStore(db: Kysely<Database>, dialect: "sqlite" | "postgres"): Omit<SessionStore, "findWithUser"> {
  /** The sessions alive at `now`: neither idle past their window nor past their lifetime. */
  const alive = (now: number) =>
    db.selectFrom("sessions").where("idle_expires_at", ">", now).where("expires_at", ">", now);

  return {
    async create(session) {
      await db.insertInto("sessions").values(fromSession(session)).execute();
    },
    async touch(id, lastSeenAt, idleExpiresAt) {
      const result = await db
        .updateTable("sessions")
        .set({ last_seen_at: lastSeenAt, idle_expires_at: idleExpiresAt })
        .where("id", "=", id)
        .executeTakeFirst();
      return result.numUpdatedRows > 0n;
    },
    async replaceSecret(id, secretHash, at) {
      const result = await db
        .updateTable("sessions")
        .set({ secret_hash: secretHash, previous_secret_hash: null, secret_rotated_at: at })
        .where("id", "=", id)
        .executeTakeFirst();
      return result.numUpdatedRows > 0n;
    },
    async renewSecret(id, expectedHash, renewal) {
      // One conditional UPDATE: the database applies it to the row as it is when its lock
      // is taken (PostgreSQL re-checks the WHERE after a concurrent writer commits; SQLite
      // has one writer), so of racing renewals from one secret only the first matches.
      const result = await db
        .updateTable("sessions")
        .set({
          previous_secret_hash: expectedHash,
          secret_hash: renewal.secretHash,
          secret_rotated_at: renewal.at,
          last_seen_at: renewal.lastSeenAt,
          idle_expires_at: renewal.idleExpiresAt,
        })
        .where("id", "=", id)
        .where("secret_hash", "=", expectedHash)
        .executeTakeFirst();
      return result.numUpdatedRows > 0n;
    },
    async reauthenticate(id, at, amr) {
      const result = await db
        .updateTable("sessions")
        .set({ auth_time: at, amr: JSON.stringify(amr) })
        .where("id", "=", id)
        .executeTakeFirst();
      return result.numUpdatedRows > 0n;
    },
    async delete(id) {
      const row = await db.deleteFrom("sessions").where("id", "=", id).returningAll().executeTakeFirst();
      return row ? toSession(row) : null;
    },
    async deleteByUser(userId, exceptId) {
      let query = db.deleteFrom("sessions").where("user_id", "=", userId);
      if (exceptId !== undefined) query = query.where("id", "!=", exceptId);
      const rows = await query.returning("id").execute();
      return rows.map((row) => row.id);
    },
    async listLive(now, userId) {
      let query = alive(now).selectAll();
      if (userId !== undefined) query = query.where("user_id", "=", userId);
      const rows = await query.orderBy("created_at", "desc").orderBy("id", "desc").execute();
      return rows.map(toSession);
    },
    async evictable(userId, now, keep, exceptId) {
      // By the user's index; only the ids past `keep` leave the database, never a record.
      const query = alive(now)
        .select("id")
        .where("user_id", "=", userId)
        .where("id", "<>", exceptId)
        .orderBy("last_seen_at", "desc")
        .orderBy("created_at", "desc")
        .orderBy("id", "desc");
      // SQLite takes an OFFSET only after a LIMIT (-1: none); PostgreSQL takes it alone.
      const rows = await (dialect === "sqlite" ? query.limit(-1) : query).offset(keep).execute();
      return rows.map((row) => row.id);
    },
    async sweepExpired(now, limit) {
      // idle_expires_at <= expires_at always, so one indexed range finds every dead row.
      const result = await db
        .deleteFrom("sessions")
        .where("id", "in", db.selectFrom("sessions").select("id").where("idle_expires_at", "<=", now).limit(limit))
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}
