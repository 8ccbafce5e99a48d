/** The SQL `ChangeFeed`: a table of changes with an epoch. */
import { randomUUID } from "node:crypto";
/**
 * The stores over Kysely, shared by every SQL backend. A backend supplies the Kysely
 * instance (dialect, pool, migrations) and how to recognise a unique-key violation.
 */
import type { Kysely } from "kysely";
import type { ChangeFeed } from "../../core/ports.js";
import { toChange } from "./rows.js";
import type { Database } from "./schema.js";
import { secretStore } from "./secrets.js";

/** The secret-table row that names the change feed's history. */
export const FEED_EPOCH = "change-feed-epoch";

export function changeFeed(db: Kysely<Database>): ChangeFeed {
  return {
    async publish(kind, subject, at) {
      await db.insertInto("changes").values({ kind, subject, at }).execute();
    },
    async read(afterSeq, notBefore, limit) {
      const rows = await db
        .selectFrom("changes")
        .selectAll()
        .where("seq", ">", afterSeq)
        .where("at", ">=", notBefore)
        .orderBy("seq")
        .limit(limit)
        .execute();
      return rows.map(toChange);
    },
    async position() {
      // The epoch is a secret-table row: a new database is a new history. A sequence
      // number never goes back in one database (AUTOINCREMENT, an identity column) unless
      // an older backup is restored, which `seq` shows.
      const row = await db
        .selectNoFrom((eb) => [
          eb.selectFrom("secrets").select("value").where("name", "=", FEED_EPOCH).as("epoch"),
          eb
            .selectFrom("changes")
            .select((e) => e.fn.max("seq").as("seq"))
            .as("seq"),
        ])
        .executeTakeFirstOrThrow();
      const epoch = row.epoch ?? (await secretStore(db).getOrCreate(FEED_EPOCH, randomUUID()));
      return { epoch, seq: Number(row.seq ?? 0) };
    },
    async prune(before) {
      const result = await db.deleteFrom("changes").where("at", "<", before).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}
