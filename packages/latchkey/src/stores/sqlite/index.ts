/**
 * The embedded default: SQLite through better-sqlite3, in WAL mode so the server and the
 * CLI can use one file at once. Writes wait up to five seconds for the file lock.
 */
import { chmodSync, existsSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";
import SQLite from "better-sqlite3";
import { Kysely, type Migration, type SqliteDatabase, SqliteDialect } from "kysely";
import { StoreUnavailableError } from "../../core/errors.js";
import type { SessionStore, Stores } from "../../core/ports.js";
import { migrateLatchkey, runMigrations } from "../sql/migrate.js";
import { type SessionLookupRow, sessionLookupSql, validSessionOf } from "../sql/request-path.js";
import type { Database } from "../sql/schema.js";
import { createSqlStores } from "../sql/stores.js";
import { changeFeed } from "./change-feed.js";
import { startCheckpointer } from "./checkpointer.js";
import * as initial from "./migrations/0001-initial.js";
import * as tokens from "./migrations/0002-tokens.js";
import * as todoOrder from "./migrations/0003-todo-order.js";
import * as services from "./migrations/0004-services.js";
import * as roles from "./migrations/0005-roles.js";
import * as sessionRenewal from "./migrations/0006-session-renewal.js";
import * as email from "./migrations/0007-email.js";
import * as signInMethods from "./migrations/0008-sign-in-methods.js";
import * as secondFactors from "./migrations/0009-second-factors.js";
import * as eventRetention from "./migrations/0010-event-retention.js";

/** Every migration, by name; names sort in the order they apply. */
const MIGRATIONS: Record<string, Migration> = {
  "0001-initial": initial,
  "0002-tokens": tokens,
  "0003-todo-order": todoOrder,
  "0004-services": services,
  "0005-roles": roles,
  "0006-session-renewal": sessionRenewal,
  "0007-email": email,
  "0008-sign-in-methods": signInMethods,
  "0009-second-factors": secondFactors,
  "0010-event-retention": eventRetention,
};

/**
 * The size, in bytes, the write-ahead log returns to after a burst of writes. Once a
 * checkpoint has copied the whole log back into the database, the next write starts the
 * log again from its beginning; SQLite keeps the file at its high-water size unless
 * `journal_size_limit` says otherwise (the soak left 54-76 MB after 15 minutes). With it,
 * that write truncates the file to this size. 4 MiB is about what SQLite's own automatic
 * checkpoint lets the log reach (1,000 pages of 4 KiB), so a steady load never truncates.
 */
export const WAL_SIZE_LIMIT = 4 * 1024 * 1024;

/**
 * Options of `openSqliteStores`.
 * @example
 * const options: SqliteOptions = { path: ":memory:", migrate: true };
 * const stores = await openSqliteStores(options);
 */
export interface SqliteOptions {
  /** A file path, or `:memory:`. */
  path: string;
  /** Apply pending migrations on open (default `true`). */
  migrate?: boolean;
}

/**
 * Opens (creating when needed) and migrates a SQLite database. A table of your app's where
 * latchkey's would go (a `users` of yours in the same file) is a `LatchkeySetupError` naming
 * it and the fix (a file of latchkey's own).
 *
 * @example
 * const stores = await openSqliteStores({ path: "./data/latchkey.db" });
 */
export async function openSqliteStores(options: SqliteOptions): Promise<Stores> {
  const { db, database } = openDatabase(options.path);
  try {
    if (options.migrate ?? true) await migrate(db, options.path);
  } catch (error) {
    await db.destroy();
    throw error;
  }
  const checkpointer =
    options.path === ":memory:" ? null : startCheckpointer(database, options.path, 1000, WAL_SIZE_LIMIT);
  const stores = createSqlStores({
    name: "sqlite",
    db,
    changes: changeFeed(db, database),
    isUniqueViolation: (error) =>
      typeof error === "object" &&
      error !== null &&
      "code" in error &&
      (error.code === "SQLITE_CONSTRAINT_UNIQUE" || error.code === "SQLITE_CONSTRAINT_PRIMARYKEY"),
    requestPath: { findWithUser: sessionLookup(database) },
    // One statement holds the write lock from its start to its end: its condition and its
    // write are atomic already. (A transaction held across awaits would not do: another
    // handle in this process waiting on the lock blocks the thread, and so the holder.)
    serializedWrite: (write) => write(db),
    database: {
      dialect: "sqlite",
      kysely: db as Kysely<unknown>,
      driver: database,
      migrate: (namespace, migrations) => runMigrations(db as Kysely<unknown>, "sqlite", migrations, namespace),
    },
    sweepExpiredSessions: sessionSweep(database),
    close: async () => {
      await checkpointer?.stop();
      await db.destroy();
    },
  });
  return stores;
}

/**
 * The request path's one read, as one prepared statement run synchronously, without a
 * Kysely query's compile and promise chain (measured: the largest share of a cookie
 * request after the socket writes). Raw rows (arrays): better-sqlite3 builds no keyed
 * object per row, the costliest part of the read after the locking system calls.
 */
function sessionLookup(database: SQLite.Database): SessionStore["findWithUser"] {
  const statement = database.prepare(sessionLookupSql("?")).raw(true);
  return async (id) => {
    const row = orUnavailable(() => statement.get(id)) as SessionLookupRow | undefined;
    return row ? validSessionOf(row) : null;
  };
}

/**
 * The sweep's delete as one prepared statement: it runs synchronously, so the time the
 * sweep measures for a batch (to size the next) is the time it held the event loop, with
 * no query compile or promise chain in it.
 */
function sessionSweep(database: SQLite.Database): SessionStore["sweepExpired"] {
  // idle_expires_at <= expires_at always, so one indexed range finds every dead row.
  const statement = database.prepare(
    "delete from sessions where id in (select id from sessions where idle_expires_at <= ? limit ?)",
  );
  return async (now, limit) => orUnavailable(() => statement.run(now, limit).changes);
}

/**
 * Runs a prepared statement of the methods above, which replace guarded Kysely ones: a
 * driver failure is `StoreUnavailableError`, as `guardStore` makes it, without the guard's
 * extra async frame on the request path.
 */
function orUnavailable<T>(run: () => T): T {
  try {
    return run();
  } catch (error) {
    throw new StoreUnavailableError("sqlite", { cause: error });
  }
}

/**
 * Applies pending migrations to the database at `path`; returns what was applied.
 *
 * @example
 * const applied = await migrateSqlite("./data/latchkey.db");
 */
export async function migrateSqlite(path: string): Promise<string[]> {
  const { db } = openDatabase(path);
  try {
    return await migrate(db, path);
  } finally {
    await db.destroy();
  }
}

function openDatabase(path: string): { db: Kysely<Database>; database: SQLite.Database } {
  let database: SQLite.Database;
  try {
    // The file holds password hashes and the private signing keys: readable by its owner
    // only when latchkey creates it (SQLite gives the -wal and -shm files the same mode).
    const creating = path !== ":memory:" && !existsSync(path);
    if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    database = new SQLite(path);
    if (creating) chmodSync(path, 0o600);
    database.pragma("journal_mode = WAL");
    database.pragma(`journal_size_limit = ${WAL_SIZE_LIMIT}`);
    database.pragma("synchronous = NORMAL");
    database.pragma("foreign_keys = ON");
    database.pragma("busy_timeout = 5000");
  } catch (error) {
    throw new StoreUnavailableError("sqlite", { cause: error });
  }
  return {
    db: new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(database) }) }),
    database,
  };
}

/**
 * Kysely prepares every query anew; better-sqlite3 statements can be reused, and preparing
 * was a fifth of the CPU of an authenticated request (measured with --cpu-prof). The SQL
 * texts are few (one per query shape), so a small map caches them all.
 */
function withStatementCache(database: SQLite.Database): SqliteDatabase {
  const statements = new Map<string, SQLite.Statement>();
  return {
    prepare(sql: string) {
      let statement = statements.get(sql);
      if (!statement) {
        if (statements.size >= 1000) statements.clear();
        statement = database.prepare(sql);
        statements.set(sql, statement);
      }
      return statement as unknown as ReturnType<SqliteDatabase["prepare"]>;
    },
    close: () => void database.close(),
  };
}

function migrate(db: Kysely<Database>, path: string): Promise<string[]> {
  return migrateLatchkey(db as Kysely<unknown>, "sqlite", MIGRATIONS, () => ({
    place: `the SQLite database ${path}`,
    // SQLite has no schemas: a file of latchkey's own is the way to keep the tables apart.
    fix: 'Give latchkey a database file of its own: openSqliteStores({ path: "./data/latchkey.db" }).',
  }));
}
