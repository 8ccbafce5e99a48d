/**
 * The security log's retention (`eventRetentionDays`, the server's `EVENT_RETENTION`):
 * the maintenance sweep deletes events older than it, oldest first, found by this index.
 */
import type { Kysely } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.createIndex("events_at").ifNotExists().on("events").column("at").execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex("events_at").ifExists().execute();
}
