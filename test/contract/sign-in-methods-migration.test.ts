/**
 * Issue 32's migration (`0008-sign-in-methods`) on SQLite and PostgreSQL: a session of
 * before reads as signed in with a password at its login, an instance still on the previous
 * release (a rolling upgrade) inserts sessions without the new columns, and the migration
 * undoes cleanly.
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
import * as postgresSignInMethods from "../../packages/latchkey/src/stores/postgres/migrations/0008-sign-in-methods.js";
import { openSqliteStores } from "../../packages/latchkey/src/stores/sqlite/index.js";
import * as sqliteSignInMethods from "../../packages/latchkey/src/stores/sqlite/migrations/0008-sign-in-methods.js";
import { makeUser } from "../../packages/latchkey/src/testing/fixtures.js";
import { freshSchema, postgresAvailable } from "../helpers/postgres.js";
import { describeWith } from "../helpers/services.js";

/** A database to run the cases on: stores to open, and raw SQL on the same data. */
interface Target {
  open(): Promise<Stores>;
  db: Kysely<unknown>;
  migration: Migration;
  cleanup(): Promise<void>;
}

/** Inserts a session as the previous release does: without the new columns. */
async function insertAsBefore(db: Kysely<unknown>, userId: string, sessionId: string, at: number): Promise<void> {
  await sql`insert into sessions (id, user_id, secret_hash, kind, remember, created_at, last_seen_at, expires_at,
      idle_timeout_ms, idle_expires_at, ip, user_agent, previous_secret_hash, secret_rotated_at)
    values (${sessionId}, ${userId}, 'old-hash', 'session', 0, ${at}, ${at}, ${at + 3_600_000}, 600000,
      ${at + 600_000}, '203.0.113.9', 'test', null, ${at})`.execute(db);
}

/** The database as the previous release left it: the migration undone and out of the history. */
async function undo(t: Target): Promise<void> {
  await t.migration.down?.(t.db);
  await sql`delete from latchkey_migration where name = '0008-sign-in-methods'`.execute(t.db);
}

function describeMigration(name: string, target: () => Promise<Target>): void {
  it(`${name}: sessions of before read as signed in with a password at login; the previous release still inserts`, async () => {
    const t = await target();
    try {
      await (await t.open()).close();
      await undo(t);
      const alice = makeUser("alice");
      const at = Date.now() - 60_000;
      await sql`insert into users (id, username, password_hash, created_at, roles, roles_at)
        values (${alice.id}, 'alice', 'x', ${at}, '["user"]', ${at})`.execute(t.db);
      await insertAsBefore(t.db, alice.id, "before", at);

      const stores = await t.open();
      try {
        expect((await stores.sessions.findWithUser("before"))?.session).toMatchObject({ authTime: at, amr: ["pwd"] });
        // An instance still on the previous release inserts without the new columns: its
        // session reads as signed in at its login (the column's default, 0, means "before").
        await insertAsBefore(t.db, alice.id, "rolling", at + 1);
        expect((await stores.sessions.findWithUser("rolling"))?.session).toMatchObject({
          authTime: at + 1,
          amr: ["pwd"],
        });
        expect((await stores.sessions.listLive(at + 2, alice.id)).map((s) => [s.id, s.authTime, s.amr])).toEqual([
          ["rolling", at + 1, ["pwd"]],
          ["before", at, ["pwd"]],
        ]);
        // And the sessions of before take a re-authentication as any other.
        expect(await stores.sessions.reauthenticate("before", at + 5, ["otp", "pwd"])).toBe(true);
        expect((await stores.sessions.findWithUser("before"))?.session).toMatchObject({
          authTime: at + 5,
          amr: ["otp", "pwd"],
        });
      } finally {
        await stores.close();
      }
      // Undone, the previous release's schema is back.
      await undo(t);
      await insertAsBefore(t.db, alice.id, "after-undo", at + 6);
      await expect(sql`select auth_time from sessions`.execute(t.db)).rejects.toThrow(/auth_time/);
    } finally {
      await t.cleanup();
    }
  });
}

describe("the sign-in methods migration", () => {
  describeMigration("SQLite", async () => {
    const dir = mkdtempSync(join(tmpdir(), "latchkey-amr-"));
    const path = join(dir, "app.db");
    const db = new Kysely<unknown>({ dialect: new SqliteDialect({ database: new SQLite(path) }) });
    return {
      open: () => openSqliteStores({ path }),
      db,
      migration: sqliteSignInMethods,
      async cleanup() {
        await db.destroy();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  });
});

describeWith("PostgreSQL", postgresAvailable)("the sign-in methods migration (PostgreSQL)", () => {
  describeMigration("PostgreSQL", async () => {
    const schema = await freshSchema();
    const db = new Kysely<unknown>({
      dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: schema.url, max: 1 }) }),
    });
    return {
      open: () => openPostgresStores({ url: schema.url, max: 2 }),
      db,
      migration: postgresSignInMethods,
      async cleanup() {
        await db.destroy();
        await schema.drop();
      },
    };
  });
});
