/**
 * Issue 28's migration (`0006-session-renewal`) on SQLite and PostgreSQL: a session of
 * before reads as never renewed (no previous secret, its secret set at login), an event of
 * before has no detail, and an instance still on the previous release (a rolling upgrade)
 * can insert sessions and events without the new columns.
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
import * as postgresRenewal from "../../packages/latchkey/src/stores/postgres/migrations/0006-session-renewal.js";
import * as postgresEmail from "../../packages/latchkey/src/stores/postgres/migrations/0007-email.js";
import * as postgresSignInMethods from "../../packages/latchkey/src/stores/postgres/migrations/0008-sign-in-methods.js";
import { openSqliteStores } from "../../packages/latchkey/src/stores/sqlite/index.js";
import * as sqliteRenewal from "../../packages/latchkey/src/stores/sqlite/migrations/0006-session-renewal.js";
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

/** Inserts a session and an event as the previous release does: without the new columns. */
async function insertAsBefore(db: Kysely<unknown>, userId: string, sessionId: string, at: number): Promise<void> {
  await sql`insert into sessions (id, user_id, secret_hash, kind, remember, created_at, last_seen_at, expires_at,
      idle_timeout_ms, idle_expires_at, ip, user_agent)
    values (${sessionId}, ${userId}, 'old-hash', 'session', 0, ${at}, ${at}, ${at + 3_600_000}, 600000,
      ${at + 600_000}, '203.0.113.9', 'test')`.execute(db);
  await sql`insert into events (id, user_id, type, at, session_id, ip, user_agent)
    values (${`event-${sessionId}`}, ${userId}, 'login', ${at}, ${sessionId}, '203.0.113.9', 'test')`.execute(db);
}

function describeMigration(name: string, target: () => Promise<Target>): void {
  it(`${name}: a session of before reads as never renewed, an event of before has no detail`, async () => {
    const t = await target();
    try {
      // The database as the previous release left it: 0006 (and what came after) undone and
      // out of the history.
      await (await t.open()).close();
      for (const later of t.later) await later.down?.(t.db);
      await t.migration.down?.(t.db);
      await sql`delete from latchkey_migration where name >= '0006-session-renewal'`.execute(t.db);
      const alice = makeUser("alice");
      const at = Date.now() - 60_000;
      await sql`insert into users (id, username, password_hash, created_at, roles, roles_at)
        values (${alice.id}, 'alice', 'x', ${at}, '["user"]', ${at})`.execute(t.db);
      await insertAsBefore(t.db, alice.id, "before", at);

      const stores = await t.open();
      try {
        expect((await stores.sessions.findWithUser("before"))?.session).toMatchObject({
          secretHash: "old-hash",
          previousSecretHash: null,
          secretRotatedAt: at,
        });
        expect(await stores.events.listByUser(alice.id, 10)).toEqual([
          expect.objectContaining({ id: "event-before", detail: null }),
        ]);
        // An instance still on the previous release inserts without the new columns: its
        // session reads as renewed at its login (the column's default, 0, means "before").
        await insertAsBefore(t.db, alice.id, "rolling", at + 1);
        expect((await stores.sessions.findWithUser("rolling"))?.session).toMatchObject({
          previousSecretHash: null,
          secretRotatedAt: at + 1,
        });
        // And the sessions of before renew as any other.
        const renewal = { secretHash: "new-hash", at: at + 5, lastSeenAt: at + 5, idleExpiresAt: at + 600_005 };
        expect(await stores.sessions.renewSecret("before", "old-hash", renewal)).toBe(true);
        expect((await stores.sessions.findWithUser("before"))?.session).toMatchObject({
          secretHash: "new-hash",
          previousSecretHash: "old-hash",
          secretRotatedAt: at + 5,
        });
      } finally {
        await stores.close();
      }
    } finally {
      await t.cleanup();
    }
  });
}

describe("the session renewal migration", () => {
  describeMigration("SQLite", async () => {
    const dir = mkdtempSync(join(tmpdir(), "latchkey-renewal-"));
    const path = join(dir, "app.db");
    const db = new Kysely<unknown>({ dialect: new SqliteDialect({ database: new SQLite(path) }) });
    return {
      open: () => openSqliteStores({ path }),
      db,
      migration: sqliteRenewal,
      later: [sqliteSignInMethods, sqliteEmail],
      async cleanup() {
        await db.destroy();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  });
});

describeWith("PostgreSQL", postgresAvailable)("the session renewal migration (PostgreSQL)", () => {
  describeMigration("PostgreSQL", async () => {
    const schema = await freshSchema();
    const db = new Kysely<unknown>({
      dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: schema.url, max: 1 }) }),
    });
    return {
      open: () => openPostgresStores({ url: schema.url, max: 2 }),
      db,
      migration: postgresRenewal,
      later: [postgresSignInMethods, postgresEmail],
      async cleanup() {
        await db.destroy();
        await schema.drop();
      },
    };
  });
});
