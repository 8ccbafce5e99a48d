/** The SQL `SecretStore`: server-wide secrets. */
import type { Kysely } from "kysely";
import type { SecretStore } from "../../core/ports.js";
import type { Database } from "./schema.js";

export function secretStore(db: Kysely<Database>): SecretStore {
  return {
    async getOrCreate(name, candidate) {
      await db
        .insertInto("secrets")
        .values({ name, value: candidate, created_at: Date.now() })
        .onConflict((oc) => oc.column("name").doNothing())
        .execute();
      const row = await db.selectFrom("secrets").select("value").where("name", "=", name).executeTakeFirstOrThrow();
      return row.value;
    },
  };
}
