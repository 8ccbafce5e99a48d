/**
 * How and when the person last proved who they are in each session (issue 32): `auth_time`
 * (ms; existing sessions: at login, `created_at`) and `amr`, a JSON array of RFC 8176
 * method names (existing sessions signed in with a password: `["pwd"]`).
 */
import { type Kysely, sql } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table sessions add column auth_time bigint`.execute(db);
  await sql`update sessions set auth_time = created_at`.execute(db);
  // Defaults (an `auth_time` of 0 reads as `created_at`): an instance still on the previous
  // version, during a rolling upgrade, inserts sessions without the columns and must not fail.
  await sql`alter table sessions alter column auth_time set default 0`.execute(db);
  await sql`alter table sessions alter column auth_time set not null`.execute(db);
  await sql`alter table sessions add column amr text not null default '["pwd"]'`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`alter table sessions drop column amr`.execute(db);
  await sql`alter table sessions drop column auth_time`.execute(db);
}
