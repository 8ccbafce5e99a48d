/**
 * Second factors (issue 32): each user's factors (TOTP secrets, sealed; passkeys' public
 * keys, a credential id unique among them: SQLite's unique index lets NULL repeat, and
 * TOTP factors have none), their recovery codes (hashes), and the challenges between two
 * steps of a sign-in, which may belong to nobody yet. All go with their user. Only new
 * tables: an instance of the previous version, during a rolling upgrade, never reads them.
 */
import { type Kysely, sql } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("factors")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("user_id", "text", (c) => c.notNull().references("users.id").onDelete("cascade"))
    .addColumn("kind", "text", (c) => c.notNull())
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("secret", "text")
    .addColumn("credential_id", "text")
    .addColumn("public_key", "text")
    .addColumn("sign_count", "integer")
    .addColumn("transports", "text")
    .addColumn("created_at", "integer", (c) => c.notNull())
    .addColumn("confirmed_at", "integer")
    .addColumn("last_used_at", "integer")
    .addColumn("last_step", "integer")
    .execute();
  await sql`create unique index factors_credential_id on factors (credential_id)`.execute(db);
  await sql`create index factors_user_id on factors (user_id)`.execute(db);
  // One authenticator app per account: of two set-ups confirmed at once, one wins.
  await sql`create unique index factors_one_totp on factors (user_id) where kind = 'totp' and confirmed_at is not null`.execute(
    db,
  );

  await db.schema
    .createTable("recovery_codes")
    .addColumn("user_id", "text", (c) => c.notNull().references("users.id").onDelete("cascade"))
    .addColumn("code_hash", "text", (c) => c.notNull())
    .addColumn("created_at", "integer", (c) => c.notNull())
    .addColumn("used_at", "integer")
    .addPrimaryKeyConstraint("recovery_codes_pkey", ["user_id", "code_hash"])
    .execute();

  await db.schema
    .createTable("challenges")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("user_id", "text", (c) => c.references("users.id").onDelete("cascade"))
    .addColumn("purpose", "text", (c) => c.notNull())
    .addColumn("secret_hash", "text", (c) => c.notNull())
    .addColumn("data", "text", (c) => c.notNull())
    .addColumn("created_at", "integer", (c) => c.notNull())
    .addColumn("expires_at", "integer", (c) => c.notNull())
    .addColumn("used_at", "integer")
    .addColumn("failures", "integer", (c) => c.notNull().defaultTo(0))
    .execute();
  // The sweep's range of expired ones; a user's, deleted with them (the cascade's lookup).
  await sql`create index challenges_expires_at on challenges (expires_at)`.execute(db);
  await sql`create index challenges_user_id on challenges (user_id)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("challenges").execute();
  await db.schema.dropTable("recovery_codes").execute();
  await db.schema.dropTable("factors").execute();
}
