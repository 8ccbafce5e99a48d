/**
 * Email addresses, verification and password reset (issue 31): each user may have one
 * normalised address, unique among users (any number have none: PostgreSQL's unique index
 * treats NULLs as distinct), and when it was verified; and the single-use tokens of mailed
 * links, which go with their user. Both new columns are nullable with no default (adding
 * them rewrites no row), so an instance of the previous version, during a rolling
 * upgrade, still inserts users (with no address).
 */
import { type Kysely, sql } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table users add column email text`.execute(db);
  await sql`alter table users add column email_verified_at bigint`.execute(db);
  // Every existing row has no address yet: the index builds at once.
  await sql`create unique index users_email on users (email)`.execute(db);

  await db.schema
    .createTable("link_tokens")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("user_id", "text", (c) => c.notNull().references("users.id").onDelete("cascade"))
    .addColumn("purpose", "text", (c) => c.notNull())
    .addColumn("secret_hash", "text", (c) => c.notNull())
    .addColumn("email", "text", (c) => c.notNull())
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("expires_at", "bigint", (c) => c.notNull())
    .addColumn("used_at", "bigint")
    .execute();
  // A user's pending link of one purpose (and deleting them); the sweep's range of expired ones.
  await sql`create index link_tokens_user_purpose on link_tokens (user_id, purpose)`.execute(db);
  await sql`create index link_tokens_expires_at on link_tokens (expires_at)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("link_tokens").execute();
  await sql`drop index users_email`.execute(db);
  await sql`alter table users drop column email_verified_at`.execute(db);
  await sql`alter table users drop column email`.execute(db);
}
