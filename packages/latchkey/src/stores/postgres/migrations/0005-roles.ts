/**
 * Roles (issue 27): every user's role names, as a JSON array in text (`["user"]` for the
 * users of before), and when they last changed (existing users: when they were created);
 * and the admin audit log, which has no foreign key because it outlives the users it names.
 */
import { type Kysely, sql } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table users add column roles text not null default '["user"]'`.execute(db);
  await sql`alter table users add column roles_at bigint`.execute(db);
  await sql`update users set roles_at = created_at`.execute(db);
  // A default of 0 (older than any change): an instance still on the previous version,
  // during a rolling upgrade, inserts users without the column and must not fail.
  await sql`alter table users alter column roles_at set default 0`.execute(db);
  await sql`alter table users alter column roles_at set not null`.execute(db);

  await db.schema
    .createTable("admin_events")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("at", "bigint", (c) => c.notNull())
    .addColumn("actor_id", "text")
    .addColumn("actor_username", "text")
    .addColumn("action", "text", (c) => c.notNull())
    .addColumn("target_id", "text", (c) => c.notNull())
    .addColumn("target_username", "text", (c) => c.notNull())
    .addColumn("ip", "text", (c) => c.notNull())
    .addColumn("user_agent", "text", (c) => c.notNull())
    .addColumn("detail", "text")
    .execute();
  // Newest first, a page after another: (at, id) descending, for the whole log and per user.
  await sql`create index admin_events_newest on admin_events (at desc, id desc)`.execute(db);
  await sql`create index admin_events_target on admin_events (target_id, at desc, id desc)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("admin_events").execute();
  await sql`alter table users drop column roles_at`.execute(db);
  await sql`alter table users drop column roles`.execute(db);
}
