/**
 * Where latchkey keeps its migration history, and what it checks before its first
 * migration in a schema (or SQLite file).
 *
 * Releases up to 0.3 kept it in Kysely's default tables (`kysely_migration`,
 * `kysely_migration_lock`), which are also a host's when its own Kysely migrator shares the
 * database: the two then broke each other. latchkey's history now lives in tables of its
 * own; a database migrated by an earlier release has its history moved there on first open,
 * once, under a lock, so every instance of a rolling start agrees.
 */
import { type Kysely, type Migration, sql } from "kysely";
import { LatchkeySetupError } from "../../core/errors.js";

/** The SQL dialects latchkey migrates. */
export type Dialect = "sqlite" | "postgres";

/**
 * Where latchkey's tables go, for messages: the place ("schema \"public\"") and the fix
 * for a clash with a host's tables ("Pass schema: 'latchkey' ...").
 */
export interface Whereabouts {
  place: string;
  fix: string;
}

/** latchkey's own migration tables. */
export const OWN_HISTORY = { table: "latchkey_migration", lock: "latchkey_migration_lock" } as const;
/** Kysely's default tables, where releases up to 0.3 kept latchkey's history. */
const LEGACY_HISTORY = { table: "kysely_migration", lock: "kysely_migration_lock" } as const;

/** Every table latchkey's migrations create, in both dialects. */
const LATCHKEY_TABLES = [
  "users",
  "sessions",
  "refresh_tokens",
  "events",
  "counters",
  "changes",
  "secrets",
  "signing_keys",
  "services",
  "admin_events",
  "link_tokens",
  "factors",
  "recovery_codes",
  "challenges",
];

/**
 * What latchkey's first migration made, in both dialects, every column: the proof that
 * `kysely_migration` is an earlier latchkey's. A host's own `users` and `changes` beside a
 * history row of the common name `0001-initial` are not this; its sessions with an idle
 * timeout, its throttle counters and its event log with them, column for column, are.
 * (Later migrations' tables are not asked for: a deployment an older release migrated has
 * only some.)
 */
const FIRST_MIGRATION_COLUMNS: Record<string, readonly string[]> = {
  users: ["id", "username", "password_hash", "created_at", "disabled_at"],
  sessions: [
    "id",
    "user_id",
    "secret_hash",
    "kind",
    "remember",
    "created_at",
    "last_seen_at",
    "expires_at",
    "idle_timeout_ms",
    "idle_expires_at",
    "ip",
    "user_agent",
  ],
  events: ["seq", "id", "user_id", "type", "at", "session_id", "ip", "user_agent"],
  counters: ["key", "count", "reset_at"],
  changes: ["seq", "kind", "subject", "at"],
  secrets: ["name", "value", "created_at"],
};

/**
 * Before latchkey's migrator runs: moves an earlier release's history into latchkey's own
 * tables, or, where latchkey has never migrated, refuses a schema that already holds a table
 * of latchkey's names (a host's `users`) with a `LatchkeySetupError` naming it and the fix.
 *
 * @example
 * await adoptHistory(db, "postgres", MIGRATIONS, { place: 'schema "public"', fix: "Pass schema: 'latchkey'." });
 */
export async function adoptHistory(
  db: Kysely<unknown>,
  dialect: Dialect,
  migrations: Record<string, Migration>,
  where: Whereabouts,
): Promise<void> {
  await inLockedTransaction(db, dialect, async (trx) => {
    const tables = await tableNames(trx, dialect);
    if (tables.has(OWN_HISTORY.table)) return;
    if (tables.has(LEGACY_HISTORY.table) && (await isLatchkeyHistory(trx, dialect, tables, migrations))) {
      await moveHistory(trx);
      return;
    }
    const clashes = LATCHKEY_TABLES.filter((table) => tables.has(table));
    if (clashes.length > 0) {
      const named = clashes.map((table) => `"${table}"`).join(", ");
      throw new LatchkeySetupError(
        `${clashes.length === 1 ? "table" : "tables"} ${named} ${clashes.length === 1 ? "is" : "are"} in ${where.place} and not latchkey's (latchkey has never migrated there). ${where.fix}`,
      );
    }
  });
}

/**
 * `kysely_migration` holds latchkey's history when every name in it is one of latchkey's
 * migrations and the tables latchkey's first migration made are there, with all their
 * columns. (An earlier release's migrator refused to run beside any other name, so a working
 * deployment has no other.) A host's own history is left where it is: its tables, should
 * they take latchkey's names, are then refused as a clash.
 */
async function isLatchkeyHistory(
  db: Kysely<unknown>,
  dialect: Dialect,
  tables: Set<string>,
  migrations: Record<string, Migration>,
): Promise<boolean> {
  const { rows } = await sql<{ name: string }>`select name from ${sql.table(LEGACY_HISTORY.table)}`.execute(db);
  if (rows.length === 0 || !rows.every((row) => Object.hasOwn(migrations, row.name))) return false;
  const expected = Object.entries(FIRST_MIGRATION_COLUMNS);
  if (!expected.every(([table]) => tables.has(table))) return false;
  const columns = await columnNames(db, dialect, Object.keys(FIRST_MIGRATION_COLUMNS));
  return expected.every(([table, names]) => names.every((name) => columns.has(`${table}.${name}`)));
}

async function moveHistory(db: Kysely<unknown>): Promise<void> {
  // The shape Kysely gives its migration table, so its migrator reads this one as its own.
  await db.schema
    .createTable(OWN_HISTORY.table)
    .addColumn("name", "varchar(255)", (c) => c.notNull().primaryKey())
    .addColumn("timestamp", "varchar(255)", (c) => c.notNull())
    .execute();
  await sql`insert into ${sql.table(OWN_HISTORY.table)} (name, timestamp)
    select name, timestamp from ${sql.table(LEGACY_HISTORY.table)}`.execute(db);
  await db.schema.dropTable(LEGACY_HISTORY.table).execute();
  await db.schema.dropTable(LEGACY_HISTORY.lock).ifExists().execute();
}

/** The tables (and views) of the connection's schema: all of them, whoever may read them. */
async function tableNames(db: Kysely<unknown>, dialect: Dialect): Promise<Set<string>> {
  const query =
    dialect === "postgres"
      ? sql<{ name: string }>`select relname as name from pg_class
          where relnamespace = (select oid from pg_namespace where nspname = current_schema())
            and relkind in ('r', 'p', 'v', 'm', 'f')`
      : sql<{ name: string }>`select name from sqlite_master where type in ('table', 'view')`;
  return new Set((await query.execute(db)).rows.map((row) => row.name));
}

/** The columns of `tables` in the connection's schema, as `table.column`. */
async function columnNames(db: Kysely<unknown>, dialect: Dialect, tables: string[]): Promise<Set<string>> {
  const query =
    dialect === "postgres"
      ? sql<{ name: string }>`select c.relname || '.' || a.attname as name
          from pg_attribute a join pg_class c on c.oid = a.attrelid
          where c.relnamespace = (select oid from pg_namespace where nspname = current_schema())
            and c.relname in (${sql.join(tables)}) and a.attnum > 0 and not a.attisdropped`
      : sql<{ name: string }>`select m.name || '.' || p.name as name
          from sqlite_master m join pragma_table_info(m.name) p
          where m.type = 'table' and m.name in (${sql.join(tables)})`;
  return new Set((await query.execute(db)).rows.map((row) => row.name));
}

/**
 * Runs `work` in a transaction that one process at a time holds: PostgreSQL's advisory lock
 * per schema, SQLite's write lock taken at `begin immediate` (a deferred transaction that
 * read first could not take it later).
 */
async function inLockedTransaction(
  db: Kysely<unknown>,
  dialect: Dialect,
  work: (db: Kysely<unknown>) => Promise<void>,
): Promise<void> {
  if (dialect === "postgres") {
    await db.transaction().execute(async (trx) => {
      await sql`select pg_advisory_xact_lock(hashtext('latchkey.migrate.' || current_schema()))`.execute(trx);
      await work(trx);
    });
    return;
  }
  await db.connection().execute(async (connection) => {
    await sql`begin immediate`.execute(connection);
    try {
      await work(connection);
      await sql`commit`.execute(connection);
    } catch (error) {
      await sql`rollback`.execute(connection);
      throw error;
    }
  });
}
