/** The SQL `UserStore` (SQLite and PostgreSQL, through Kysely). */
import { type Kysely, sql } from "kysely";
import type { UserStore } from "../../core/ports.js";
import { escapeLike, fromUser, rolePattern, toUser } from "./rows.js";
import type { Database } from "./schema.js";
import type { SqlBackend } from "./stores.js";

/** Has the `roles` column `role` (exactly: see `rolePattern`). */
const hasRole = (role: string, table = "users") =>
  sql<boolean>`${sql.ref(`${table}.roles`)} like ${rolePattern(role)} escape '\\'`;

/**
 * True of a row unless it is the last enabled admin (a user with the role `admin` and no
 * `disabledAt`): the condition of every write that takes a user out of the enabled admins.
 */
const notLastAdmin = (id: string) => sql<boolean>`not (
  users.disabled_at is null and ${hasRole("admin")} and not exists (
    select 1 from users others
    where others.id <> ${id} and others.disabled_at is null and ${hasRole("admin", "others")}))`;

export function userStore(backend: SqlBackend): UserStore {
  const { db, isUniqueViolation } = backend;
  /**
   * Runs `write`, one statement that changes the user `id` only where `notLastAdmin(id)`
   * holds and answers what it changed (`undefined`: nothing), serialised with every other
   * such write (`SqlBackend.serializedWrite`): of two that each take one of the last two
   * admins, the second sees the first's change. Nothing changed and the user still there:
   * the guard refused.
   */
  const guarded = async <T>(
    id: string,
    write: (db: Kysely<Database>) => Promise<T | undefined>,
  ): Promise<T | false | "last_admin"> => {
    const changed = await backend.serializedWrite(write);
    if (changed !== undefined) return changed;
    const row = await db.selectFrom("users").select("id").where("id", "=", id).executeTakeFirst();
    return row ? "last_admin" : false;
  };
  return {
    // The unique indexes on username and email refuse a taken one, atomically.
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
    async findByEmail(email) {
      const row = await db.selectFrom("users").selectAll().where("email", "=", email).executeTakeFirst();
      return row ? toUser(row) : null;
    },
    async setEmail(id, email, verifiedAt) {
      try {
        const result = await db
          .updateTable("users")
          .set({ email, email_verified_at: verifiedAt })
          .where("id", "=", id)
          .executeTakeFirst();
        return result.numUpdatedRows > 0n;
      } catch (error) {
        // The unique index on email: another user has it, and this statement changed nothing.
        if (isUniqueViolation(error)) return "email_taken";
        throw error;
      }
    },
    async list() {
      const rows = await db.selectFrom("users").selectAll().orderBy("username").execute();
      return rows.map(toUser);
    },
    async search({ query, role, after, limit }) {
      let select = db.selectFrom("users").selectAll();
      if (query !== "") select = select.where(sql<boolean>`username like ${`%${escapeLike(query)}%`} escape '\\'`);
      if (role !== undefined) select = select.where(hasRole(role));
      if (after !== undefined) select = select.where("username", ">", after);
      const rows = await select.orderBy("username").limit(limit).execute();
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
      if (disabledAt === null) {
        // Enabling never takes an admin away.
        const result = await db.updateTable("users").set({ disabled_at: null }).where("id", "=", id).executeTakeFirst();
        return result.numUpdatedRows > 0n;
      }
      return guarded(id, async (trx) => {
        const result = await trx
          .updateTable("users")
          .set({ disabled_at: disabledAt })
          .where("id", "=", id)
          .where(notLastAdmin(id))
          .executeTakeFirst();
        return result.numUpdatedRows > 0n ? true : undefined;
      });
    },
    async setRoles(id, roles, at) {
      const keepsAdmin = roles.includes("admin");
      const write = async (trx: Kysely<Database>) => {
        // Later than the stored rolesAt whatever `at` says, decided in this one statement
        // (on the row as a concurrent writer left it): no two changes share a rolesAt.
        const rolesAt = sql<number>`case when roles_at + 1 > ${at} then roles_at + 1 else ${at} end`;
        let update = trx
          .updateTable("users")
          .set({ roles: JSON.stringify(roles), roles_at: rolesAt })
          .where("id", "=", id);
        if (!keepsAdmin) update = update.where(notLastAdmin(id));
        const row = await update.returning("roles_at").executeTakeFirst();
        return row ? Number(row.roles_at) : undefined;
      };
      // Giving (or keeping) admin never takes an admin away: no lock.
      return keepsAdmin ? ((await write(db)) ?? false) : guarded(id, write);
    },
    async delete(id) {
      return guarded(id, async (trx) => {
        // Sessions, link tokens, to-dos and events go with the user (ON DELETE CASCADE).
        const result = await trx.deleteFrom("users").where("id", "=", id).where(notLastAdmin(id)).executeTakeFirst();
        return result.numDeletedRows > 0n ? true : undefined;
      });
    },
  };
}
