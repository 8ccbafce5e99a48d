/** What the SQL change feeds (SQLite's, PostgreSQL's) share. */
import { type Kysely, type RawBuilder, sql } from "kysely";
import type { FeedPosition } from "../../core/ports.js";
import type { Database } from "./schema.js";
import { FEED_EPOCH, feedEpoch } from "./secrets.js";

/**
 * The feed's epoch and its highest number ever given, in one round trip; `highest` is the
 * backend's SQL for that number (pruned rows included: a quiet feed has lost nothing).
 *
 * @example
 * const position = await feedPosition(db, sql`(select seq from sqlite_sequence where name = 'changes')`);
 */
export async function feedPosition(db: Kysely<Database>, highest: RawBuilder<unknown>): Promise<FeedPosition> {
  const row = await db
    .selectNoFrom((eb) => [
      eb.selectFrom("secrets").select("value").where("name", "=", FEED_EPOCH).as("epoch"),
      sql<number | string | null>`${highest}`.as("seq"),
    ])
    .executeTakeFirstOrThrow();
  return { epoch: await feedEpoch(db, row.epoch), seq: Number(row.seq ?? 0) };
}
