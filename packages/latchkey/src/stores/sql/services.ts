/** The SQL `ServiceStore`: service credentials (hashed secrets). */
import type { Kysely, Selectable } from "kysely";
import type { ServiceStore } from "../../core/ports.js";
import type { ServiceRecord } from "../../core/records.js";
import type { Database, ServicesTable } from "./schema.js";

const toService = (row: Selectable<ServicesTable>): ServiceRecord => ({
  id: row.id,
  name: row.name,
  secretHash: row.secret_hash,
  createdAt: Number(row.created_at),
  revokedAt: row.revoked_at === null ? null : Number(row.revoked_at),
});

export function serviceStore(db: Kysely<Database>, isUniqueViolation: (error: unknown) => boolean): ServiceStore {
  return {
    async create(service) {
      try {
        await db
          .insertInto("services")
          .values({
            id: service.id,
            name: service.name,
            secret_hash: service.secretHash,
            created_at: service.createdAt,
            revoked_at: service.revokedAt,
          })
          .execute();
        return true;
      } catch (error) {
        if (isUniqueViolation(error)) return false;
        throw error;
      }
    },
    async findById(id) {
      const row = await db.selectFrom("services").selectAll().where("id", "=", id).executeTakeFirst();
      return row ? toService(row) : null;
    },
    async findByName(name) {
      const row = await db.selectFrom("services").selectAll().where("name", "=", name).executeTakeFirst();
      return row ? toService(row) : null;
    },
    async list() {
      const rows = await db.selectFrom("services").selectAll().orderBy("created_at").orderBy("id").execute();
      return rows.map(toService);
    },
    async revoke(id, at) {
      const result = await db
        .updateTable("services")
        .set({ revoked_at: at })
        .where("id", "=", id)
        .where("revoked_at", "is", null)
        .executeTakeFirst();
      return result.numUpdatedRows > 0n;
    },
  };
}
