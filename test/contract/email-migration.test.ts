/**
 * Issue 31's migration (`0007-email`) on SQLite and PostgreSQL: users of before have no
 * address and read as such, any number of users have none, an instance still on the
 * previous release (a rolling upgrade) inserts users without the new columns, and the
 * migration undoes cleanly.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import SQLite from "better-sqlite3";
import { Kysely, type Migration, PostgresDialect, SqliteDialect, sql } from "kysely";
import pg from "pg";
import { describe, expect, it } from "vitest";
import type { Stores } from "../../packages/latchkey/src/core/ports.js";
import { openPostgresStores } from "../../packages/latchkey/src/stores/postgres/index.js";
import * as postgresEmail from "../../packages/latchkey/src/stores/postgres/migrations/0007-email.js";
import * as postgresSignInMethods from "../../packages/latchkey/src/stores/postgres/migrations/0008-sign-in-methods.js";
import { openSqliteStores } from "../../packages/latchkey/src/stores/sqlite/index.js";
import * as sqliteEmail from "../../packages/latchkey/src/stores/sqlite/migrations/0007-email.js";
import * as sqliteSignInMethods from "../../packages/latchkey/src/stores/sqlite/migrations/0008-sign-in-methods.js";
import { makeUser } from "../../packages/latchkey/src/testing/fixtures.js";
import { freshSchema, postgresAvailable } from "../helpers/postgres.js";
import { describeWith } from "../helpers/services.js";

/** A database to run the cases on: stores to open, and raw SQL on the same data. */
interface Target {
  open(): Promise<Stores>;
  db: Kysely<unknown>;
  migration: Migration;
  /** The migrations after it, undone first (newest first) to get back to the release before. */
  later: Migration[];
  cleanup(): Promise<void>;
}

/** Inserts a user as the previous release does: without the new columns. */
async function insertAsBefore(db: Kysely<unknown>, id: string, username: string, at: number): Promise<void> {
  await sql`insert into users (id, username, password_hash, created_at, roles, roles_at)
    values (${id}, ${username}, 'x', ${at}, '["user"]', ${at})`.execute(db);
}

function describeMigration(name: string, target: () => Promise<Target>): void {
  it(`${name}: users of before have no address; the previous release still inserts users`, async () => {
    const t = await target();
    try {
      // The database as the previous release left it: 0007 (and what came after) undone and
      // out of the history.
      await (await t.open()).close();
      for (const later of t.later) await later.down?.(t.db);
      await t.migration.down?.(t.db);
      await sql`delete from latchkey_migration where name >= '0007-email'`.execute(t.db);
      const at = Date.now() - 60_000;
      const alice = makeUser("alice");
      await insertAsBefore(t.db, alice.id, "alice", at);

      const stores = await t.open();
      try {
        expect(await stores.users.findById(alice.id)).toMatchObject({ email: null, emailVerifiedAt: null });
        // An instance still on the previous release: its users have no address, as many as it makes.
        const bob = makeUser("bob");
        const carol = makeUser("carol");
        await insertAsBefore(t.db, bob.id, "bob", at + 1);
        await insertAsBefore(t.db, carol.id, "carol", at + 2);
        expect(await stores.users.findById(carol.id)).toMatchObject({ username: "carol", email: null });
        // And the users of before take an address as any other; the unique index holds.
        expect(await stores.users.setEmail(alice.id, "alice@example.com", at + 3)).toBe(true);
        expect(await stores.users.setEmail(bob.id, "alice@example.com", null)).toBe("email_taken");
        expect((await stores.users.findByEmail("alice@example.com"))?.id).toBe(alice.id);
        // Their sessions still read (the lookup selects no new column) and links go with them.
        await stores.links.create({
          id: "link",
          userId: bob.id,
          purpose: "reset_password",
          secretHash: "h",
          email: "bob@example.com",
          createdAt: at,
          expiresAt: at + 3_600_000,
          usedAt: null,
        });
        await sql`delete from users where id = ${bob.id}`.execute(t.db);
        expect(await stores.links.find("link")).toBeNull();
      } finally {
        await stores.close();
      }
      // Undone, the previous release's schema is back: no address, no link tokens.
      await t.migration.down?.(t.db);
      await sql`delete from latchkey_migration where name = '0007-email'`.execute(t.db);
      await insertAsBefore(t.db, makeUser("dave").id, "dave", at + 4);
      await expect(sql`select email from users`.execute(t.db)).rejects.toThrow(/email/);
      await expect(sql`select id from link_tokens`.execute(t.db)).rejects.toThrow(/link_tokens/);
    } finally {
      await t.cleanup();
    }
  });
}

describe("the email migration", () => {
  describeMigration("SQLite", async () => {
    const dir = mkdtempSync(join(tmpdir(), "latchkey-email-"));
    const path = join(dir, "app.db");
    const db = new Kysely<unknown>({ dialect: new SqliteDialect({ database: new SQLite(path) }) });
    return {
      open: () => openSqliteStores({ path }),
      db,
      migration: sqliteEmail,
      later: [sqliteSignInMethods],
      async cleanup() {
        await db.destroy();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  });
});

describeWith("PostgreSQL", postgresAvailable)("the email migration (PostgreSQL)", () => {
  describeMigration("PostgreSQL", async () => {
    const schema = await freshSchema();
    const db = new Kysely<unknown>({
      dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: schema.url, max: 1 }) }),
    });
    return {
      open: () => openPostgresStores({ url: schema.url, max: 2 }),
      db,
      migration: postgresEmail,
      later: [postgresSignInMethods],
      async cleanup() {
        await db.destroy();
        await schema.drop();
      },
    };
  });
});
