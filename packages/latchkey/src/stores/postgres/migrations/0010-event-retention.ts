/**
 * The security log's retention (`eventRetentionDays`, the server's `EVENT_RETENTION`):
 * the maintenance sweep deletes events older than it, oldest first, found by this index.
 *
 * On PostgreSQL the index is built inside the migration's transaction, which holds writes
 * to `events` (sign-ins record one) until it is built. On a large log, build it first,
 * without that lock, and the migration finds it there:
 * `CREATE INDEX CONCURRENTLY IF NOT EXISTS events_at ON events (at)` (docs/operations.md).
 */
import type { Kysely } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.createIndex("events_at").ifNotExists().on("events").column("at").execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex("events_at").ifExists().execute();
}
