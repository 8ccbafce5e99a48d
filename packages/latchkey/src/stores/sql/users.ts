/** The SQL `UserStore` (SQLite and PostgreSQL, through Kysely). */
import type { UserStore } from "../../core/ports.js";
import { fromUser, toUser } from "./rows.js";
import type { SqlBackend } from "./stores.js";

export function userStore({ db, isUniqueViolation }: SqlBackend): UserStore {
  return {
    async create(user) {
      try {
        await db.insertInto("users").values(fromUser(user)).execute();
        return true;
      } catch (error) {
        if (isUniqueViolation(error)) return false;
        throw error;
      }
    },
    async findById(id) {
      const row = await db.selectFrom("users").selectAll().where("id", "=", id).executeTakeFirst();
      return row ? toUser(row) : null;
    },
    async findByUsername(username) {
      const row = await db.selectFrom("users").selectAll().where("username", "=", username).executeTakeFirst();
      return row ? toUser(row) : null;
    },
    async list() {
      const rows = await db.selectFrom("users").selectAll().orderBy("username").execute();
      return rows.map(toUser);
    },
    async updatePasswordHash(id, passwordHash) {
      const result = await db
        .updateTable("users")
        .set({ password_hash: passwordHash })
        .where("id", "=", id)
        .executeTakeFirst();
      return result.numUpdatedRows > 0n;
    },
    async setDisabled(id, disabledAt) {
      const result = await db
        .updateTable("users")
        .set({ disabled_at: disabledAt })
        .where("id", "=", id)
        .executeTakeFirst();
      return result.numUpdatedRows > 0n;
    },
    async delete(id) {
      // Sessions, to-dos and events go with the user (ON DELETE CASCADE).
      const result = await db.deleteFrom("users").where("id", "=", id).executeTakeFirst();
      return result.numDeletedRows > 0n;
    },
  };
}
