/**
 * How and when the person last proved who they are in each session (issue 32): `auth_time`
 * (ms; 0, as existing sessions have it, reads as `created_at`) and `amr`, a JSON array of RFC 8176
 * method names (existing sessions signed in with a password: `["pwd"]`).
 */
import { type Kysely, sql } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  // SQLite adds a NOT NULL column only with a default; the defaults also let an instance
  // of the previous version, during a rolling upgrade, insert sessions without them (an
  // `auth_time` of 0 reads as `created_at`, so existing sessions need no update).
  await sql`alter table sessions add column auth_time integer not null default 0`.execute(db);
  await sql`alter table sessions add column amr text not null default '["pwd"]'`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`alter table sessions drop column amr`.execute(db);
  await sql`alter table sessions drop column auth_time`.execute(db);
}
