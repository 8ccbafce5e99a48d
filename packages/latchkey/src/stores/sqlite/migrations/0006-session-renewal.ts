/**
 * Session secrets that renew as they are used (issue 28): each session keeps the hash of
 * the secret it had before its last renewal (none for the sessions of before) and when its
 * secret last changed (existing sessions: at login, `created_at`); each security event may
 * carry a JSON detail (the other client of a `session_reuse_detected`).
 */
import { type Kysely, sql } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table sessions add column previous_secret_hash text`.execute(db);
  // SQLite adds a NOT NULL column only with a default; the default (0) also lets an
  // instance of the previous version, during a rolling upgrade, insert sessions without it.
  await sql`alter table sessions add column secret_rotated_at integer not null default 0`.execute(db);
  await sql`update sessions set secret_rotated_at = created_at`.execute(db);
  await sql`alter table events add column detail text`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`alter table events drop column detail`.execute(db);
  await sql`alter table sessions drop column secret_rotated_at`.execute(db);
  await sql`alter table sessions drop column previous_secret_hash`.execute(db);
}
