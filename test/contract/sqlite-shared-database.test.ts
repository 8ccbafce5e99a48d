/**
 * latchkey's SQLite store in a file its host also migrates (issue 25 item 12): latchkey's
 * history lives in its own table (`latchkey_migration`), so the host's Kysely migrator and
 * latchkey's never read each other's; a file migrated by an earlier release has its history
 * moved there on first open; a host table where latchkey's would go is a
 * `LatchkeySetupError` naming it and the fix (SQLite has no schemas: a file of its own).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import SQLite from "better-sqlite3";
import { Kysely, type Migration, Migrator, SqliteDialect } from "kysely";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { LatchkeySetupError, StoreUnavailableError } from "../../packages/latchkey/src/core/errors.js";
import { migrateSqlite, openSqliteStores } from "../../packages/latchkey/src/stores/sqlite/index.js";
import * as initial from "../../packages/latchkey/src/stores/sqlite/migrations/0001-initial.js";
import * as tokens from "../../packages/latchkey/src/stores/sqlite/migrations/0002-tokens.js";
import * as todoOrder from "../../packages/latchkey/src/stores/sqlite/migrations/0003-todo-order.js";
import * as services from "../../packages/latchkey/src/stores/sqlite/migrations/0004-services.js";

/** What the release before roles (issue 27) applied; later ones add `0005-roles`, `0006-session-renewal`, `0007-email`, `0008-sign-in-methods`, `0009-second-factors` and `0010-event-retention`. */
const LATCHKEY_MIGRATIONS: Record<string, Migration> = {
  "0001-initial": initial,
  "0002-tokens": tokens,
  "0003-todo-order": todoOrder,
  "0004-services": services,
};

const table = (name: string): Migration => ({
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable(name)
      .addColumn("id", "integer", (c) => c.primaryKey())
      .execute();
  },
});

let dir: string;
let path: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "latchkey-shared-"));
  path = join(dir, "app.db");
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Kysely's migrator on the file, with its default tables, as a host (or an earlier latchkey) runs it. */
async function kyselyMigrate(migrations: Record<string, Migration>) {
  const db = new Kysely<unknown>({ dialect: new SqliteDialect({ database: new SQLite(path) }) });
  try {
    return await new Migrator({ db, provider: { getMigrations: async () => migrations } }).migrateToLatest();
  } finally {
    await db.destroy();
  }
}

function tables(): string[] {
  const db = new SQLite(path, { readonly: true });
  try {
    const rows = db.prepare("select name from sqlite_master where type = 'table' order by name").all() as {
      name: string;
    }[];
    return rows.map((row) => row.name);
  } finally {
    db.close();
  }
}

describe("SQLite shared with the host's own migrations", () => {
  it("keeps its history apart from the host's Kysely migrations, before and after", async () => {
    expect((await kyselyMigrate({ "2024-01-notes": table("notes") })).error).toBeUndefined();
    const stores = await openSqliteStores({ path });
    await stores.close();
    const { error, results } = await kyselyMigrate({ "2024-01-notes": table("notes"), "2024-02-tags": table("tags") });
    expect(error).toBeUndefined();
    expect(results?.map((r) => r.migrationName)).toEqual(["2024-02-tags"]);
    expect(tables()).toEqual(
      expect.arrayContaining(["kysely_migration", "latchkey_migration", "notes", "tags", "users"]),
    );
    expect(await migrateSqlite(path)).toEqual([]);
  });

  it("refuses the host's users table by name and says what to do, not 'unavailable'", async () => {
    expect((await kyselyMigrate({ "2024-01-users": table("users") })).error).toBeUndefined();
    const refused = await openSqliteStores({ path }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(LatchkeySetupError);
    expect(refused).not.toBeInstanceOf(StoreUnavailableError);
    expect((refused as Error).message).toMatch(/table "users" is in the SQLite database .*app\.db and not latchkey's/);
    expect((refused as Error).message).toContain("a database file of its own");
    expect(tables()).toEqual(["kysely_migration", "kysely_migration_lock", "users"]);
  });

  it("leaves alone a host whose own history is named like latchkey's (0001-initial) beside its users and changes", async () => {
    const hostInitial: Migration = {
      async up(db: Kysely<unknown>) {
        await table("users").up(db);
        await table("changes").up(db);
      },
    };
    expect((await kyselyMigrate({ "0001-initial": hostInitial })).error).toBeUndefined();
    const refused = await openSqliteStores({ path }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(LatchkeySetupError);
    expect((refused as Error).message).toMatch(
      /tables "users", "changes" are in the SQLite database .*app\.db and not latchkey's/,
    );
    expect((refused as Error).message).toContain("a database file of its own");
    expect(tables()).toEqual(["changes", "kysely_migration", "kysely_migration_lock", "users"]);
    const db = new SQLite(path, { readonly: true });
    const names = db.prepare("select name from kysely_migration").all() as { name: string }[];
    db.close();
    expect(names.map((row) => row.name)).toEqual(["0001-initial"]);
  });

  it("moves the history of a release older still (its first migration only), then applies the rest", async () => {
    expect((await kyselyMigrate({ "0001-initial": initial })).error).toBeUndefined();
    expect(await migrateSqlite(path)).toEqual([
      "0002-tokens",
      "0003-todo-order",
      "0004-services",
      "0005-roles",
      "0006-session-renewal",
      "0007-email",
      "0008-sign-in-methods",
      "0009-second-factors",
      "0010-event-retention",
    ]);
    expect(tables()).toEqual(expect.arrayContaining(["latchkey_migration", "services", "signing_keys"]));
    expect(tables()).not.toContain("kysely_migration");
  });

  it("moves an earlier release's history out of kysely_migration on first open", async () => {
    expect((await kyselyMigrate(LATCHKEY_MIGRATIONS)).error).toBeUndefined();
    const before = new SQLite(path);
    before.prepare("insert into users (id, username, password_hash, created_at) values ('u1', 'ada', 'x', 7)").run();
    before.close();
    const stores = await openSqliteStores({ path });
    try {
      // A user of before has the default role, set when they were created.
      expect(await stores.users.findById("u1")).toMatchObject({ username: "ada", roles: ["user"], rolesAt: 7 });
    } finally {
      await stores.close();
    }
    expect(tables()).toContain("latchkey_migration");
    expect(tables()).not.toContain("kysely_migration");
    expect(await migrateSqlite(path)).toEqual([]);
    const db = new SQLite(path, { readonly: true });
    const names = db.prepare("select name from latchkey_migration order by name").all() as { name: string }[];
    db.close();
    expect(names.map((row) => row.name)).toEqual([
      ...Object.keys(LATCHKEY_MIGRATIONS),
      "0005-roles",
      "0006-session-renewal",
      "0007-email",
      "0008-sign-in-methods",
      "0009-second-factors",
      "0010-event-retention",
    ]);
  });
});
