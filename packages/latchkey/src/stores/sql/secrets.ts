/** The SQL `SecretStore`: server-wide secrets. */
import { randomUUID } from "node:crypto";
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

/** The secret-table row that names the change feed's history: a new database is a new history. */
export const FEED_EPOCH = "change-feed-epoch";

/** The feed's epoch: `found` when the row exists already, made once otherwise. */
export async function feedEpoch(db: Kysely<Database>, found: string | null | undefined): Promise<string> {
  return found ?? (await secretStore(db).getOrCreate(FEED_EPOCH, randomUUID()));
}
