/**
 * The databases a migration's case runs on (the `*-migration` tests), SQLite and
 * PostgreSQL, each taken back to the release before the migration, so the case can write
 * rows as that release did and migrate up again.
 */
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import SQLite from "better-sqlite3";
import { Kysely, type Migration, PostgresDialect, SqliteDialect, sql } from "kysely";
import pg from "pg";
import { describe, it } from "vitest";
import type { Stores } from "../../packages/latchkey/src/core/ports.js";
import { openPostgresStores } from "../../packages/latchkey/src/stores/postgres/index.js";
import { openSqliteStores } from "../../packages/latchkey/src/stores/sqlite/index.js";
import { freshSchema, postgresAvailable } from "../helpers/postgres.js";
import { describeWith } from "../helpers/services.js";

/** A database to run the cases on: stores to open, and raw SQL on the same data. */
export interface Target {
  open(): Promise<Stores>;
  db: Kysely<unknown>;
  /** The migration under test, by its name in `latchkey_migration`. */
  name: string;
  migration: Migration;
  /** The migrations after it, newest first: undone before it to get back to the release before. */
  later: Migration[];
  cleanup(): Promise<void>;
}

/**
 * The migration `name` of `dialect` and every one after it, newest first. Read from the
 * migrations folder, so a new migration is undone here without editing the older cases.
 */
async function fromMigration(
  dialect: "sqlite" | "postgres",
  name: string,
): Promise<Pick<Target, "migration" | "later">> {
  const folder = fileURLToPath(new URL(`../../packages/latchkey/src/stores/${dialect}/migrations/`, import.meta.url));
  const names = readdirSync(folder)
    .filter((file) => file.endsWith(".ts"))
    .map((file) => file.slice(0, -".ts".length))
    .sort();
  if (!names.includes(name)) throw new Error(`no ${dialect} migration named ${name}`);
  const [migration, ...later] = await Promise.all(
    names.filter((each) => each >= name).map(async (each) => (await import(join(folder, `${each}.ts`))) as Migration),
  );
  return { migration: migration as Migration, later: later.reverse() };
}

/** A fresh SQLite file, for the migration `name`. */
async function sqliteTarget(name: string): Promise<Target> {
  const migrations = await fromMigration("sqlite", name);
  const dir = mkdtempSync(join(tmpdir(), "latchkey-migration-"));
  const path = join(dir, "app.db");
  const db = new Kysely<unknown>({ dialect: new SqliteDialect({ database: new SQLite(path) }) });
  return {
    open: () => openSqliteStores({ path }),
    db,
    name,
    ...migrations,
    async cleanup() {
      await db.destroy();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A fresh PostgreSQL schema, for the migration `name`. */
async function postgresTarget(name: string): Promise<Target> {
  const migrations = await fromMigration("postgres", name);
  const schema = await freshSchema();
  const db = new Kysely<unknown>({
    dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: schema.url, max: 1 }) }),
  });
  return {
    open: () => openPostgresStores({ url: schema.url, max: 2 }),
    db,
    name,
    ...migrations,
    async cleanup() {
      await db.destroy();
      await schema.drop();
    },
  };
}

/**
 * Takes a migrated database back to the release before the migration under test: the
 * later migrations undone, newest first, then this one, and all of them out of the history
 * (so the next open applies them again).
 */
export async function backToBefore(t: Target): Promise<void> {
  for (const later of t.later) await later.down?.(t.db);
  await t.migration.down?.(t.db);
  await sql`delete from latchkey_migration where name >= ${t.name}`.execute(t.db);
}

/**
 * Runs `check` for the migration `name` in `suite` on a fresh SQLite file, and in
 * `${suite} (PostgreSQL)` on a fresh schema when PostgreSQL is up: each database migrated,
 * taken back to the release before `name`, and cleaned up after.
 */
export function describeMigration(
  suite: string,
  name: string,
  title: string,
  check: (t: Target) => Promise<void>,
): void {
  const run = (target: () => Promise<Target>) => async () => {
    const t = await target();
    try {
      await (await t.open()).close();
      await backToBefore(t);
      await check(t);
    } finally {
      await t.cleanup();
    }
  };
  describe(suite, () => {
    it(
      `SQLite: ${title}`,
      run(() => sqliteTarget(name)),
    );
  });
  describeWith("PostgreSQL", postgresAvailable)(`${suite} (PostgreSQL)`, () => {
    it(
      `PostgreSQL: ${title}`,
      run(() => postgresTarget(name)),
    );
  });
}
