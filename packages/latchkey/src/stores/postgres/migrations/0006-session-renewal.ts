/**
 * Session secrets that renew as they are used (issue 28): each session keeps the hash of
 * the secret it had before its last renewal (none for the sessions of before) and when its
 * secret last changed (existing sessions: at login, `created_at`); each security event may
 * carry a JSON detail (the other client of a `session_reuse_detected`).
 */
import { type Kysely, sql } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table sessions add column previous_secret_hash text`.execute(db);
  await sql`alter table sessions add column secret_rotated_at bigint`.execute(db);
  await sql`update sessions set secret_rotated_at = created_at`.execute(db);
  // A default of 0 ("renewed long ago"): an instance still on the previous version, during
  // a rolling upgrade, inserts sessions without the column and must not fail.
  await sql`alter table sessions alter column secret_rotated_at set default 0`.execute(db);
  await sql`alter table sessions alter column secret_rotated_at set not null`.execute(db);
  await sql`alter table events add column detail text`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`alter table events drop column detail`.execute(db);
  await sql`alter table sessions drop column secret_rotated_at`.execute(db);
  await sql`alter table sessions drop column previous_secret_hash`.execute(db);
}
