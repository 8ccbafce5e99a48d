/**
 * Kysely's migrator, for latchkey's own migrations and for a host's (`DatabaseHandle`).
 *
 * latchkey keeps its history in tables of its own (`latchkey_migration`,
 * `latchkey_migration_lock`), never in Kysely's default `kysely_migration`, which belongs to
 * the host's own migrator when the two share a database. A database that an earlier release
 * migrated (its history in `kysely_migration`) has that history moved on first open
 * (`./history.ts`).
 */
import {
  type DatabaseIntrospector,
  type Kysely,
  type Migration,
  type MigrationResult,
  Migrator,
  sql,
  type TableMetadata,
} from "kysely";
import { LatchkeySetupError, StoreUnavailableError } from "../../core/errors.js";
import { isConnectionFailure } from "./connection-failure.js";
import { adoptHistory, type Dialect, OWN_HISTORY, type Whereabouts } from "./history.js";

export type { Dialect, Whereabouts } from "./history.js";

const NAMESPACE = /^[a-z][a-z0-9_]{0,39}$/;

/**
 * Applies latchkey's pending `migrations`; returns the names applied. A database that
 * cannot be reached, or whose connection drops on the way, is `StoreUnavailableError`
 * (retrying may work); a table of the host's in latchkey's way is
 * `LatchkeySetupError` (naming the table and the fix); any other failed migration is an
 * `Error` naming it, its cause attached. `whereabouts` says, for those messages, where the
 * tables go (given PostgreSQL's current schema) and what to do about a clash.
 *
 * @example
 * await migrateLatchkey(db, "sqlite", MIGRATIONS, () => ({ place: "./app.db", fix: "Give latchkey a file of its own." }));
 */
export async function migrateLatchkey(
  db: Kysely<unknown>,
  dialect: Dialect,
  migrations: Record<string, Migration>,
  whereabouts: (schema: string | undefined) => Whereabouts,
): Promise<string[]> {
  const schema = await currentSchema(db, dialect);
  const where = whereabouts(schema);
  try {
    await adoptHistory(db, dialect, migrations, where);
  } catch (error) {
    if (error instanceof LatchkeySetupError) throw error;
    if (isConnectionFailure(error)) throw new StoreUnavailableError(dialect, { cause: error });
    throw failure("checking the migration history", error);
  }
  return migrate(db, dialect, migrations, { schema, ...OWN_HISTORY }, where);
}

/**
 * Applies the host's pending `migrations`; returns the names applied. `namespace` names the
 * tables that track them (`<namespace>_migration`, `<namespace>_migration_lock`).
 *
 * @example
 * await runMigrations(db, "sqlite", { "0001-notes": notes }, "myapp");
 */
export async function runMigrations(
  db: Kysely<unknown>,
  dialect: Dialect,
  migrations: Record<string, Migration>,
  namespace: string,
): Promise<string[]> {
  if (!NAMESPACE.test(namespace)) {
    throw new TypeError(`latchkey: migration namespace "${namespace}" must be lower-case letters, digits and _`);
  }
  if (namespace === "latchkey") throw new TypeError('latchkey: the migration namespace "latchkey" is latchkey\'s own');
  const schema = await currentSchema(db, dialect);
  const tables = { table: `${namespace}_migration`, lock: `${namespace}_migration_lock` };
  return migrate(db, dialect, migrations, { schema, ...tables }, undefined);
}

/**
 * PostgreSQL: Kysely looks for its migration tables in every schema unless told which:
 * with latchkey's tables in another schema of the same database (another deployment, or
 * the host's), it would take theirs for ours and fail. Ours are in the connection's schema.
 * This is also the first query: a database that cannot be reached fails here, as such.
 */
async function currentSchema(db: Kysely<unknown>, dialect: Dialect): Promise<string | undefined> {
  let schema: string | null | undefined;
  try {
    if (dialect === "sqlite") {
      await sql`select 1`.execute(db);
      return undefined;
    }
    schema = (await sql<{ schema: string | null }>`select current_schema() as schema`.execute(db)).rows[0]?.schema;
  } catch (error) {
    throw new StoreUnavailableError(dialect, { cause: error });
  }
  if (schema === null || schema === undefined) {
    throw new LatchkeySetupError(
      "no schema on the connection's search_path exists, so there is nowhere to put the tables. Create it (CREATE SCHEMA ...), or pass `schema` to openPostgresStores, which creates it.",
    );
  }
  return schema;
}

async function migrate(
  db: Kysely<unknown>,
  dialect: Dialect,
  migrations: Record<string, Migration>,
  tracking: { schema: string | undefined; table: string; lock: string },
  where: Whereabouts | undefined,
): Promise<string[]> {
  const migrator = new Migrator({
    db: tracking.schema === undefined ? db : scopedTo(db, tracking.schema),
    provider: { getMigrations: async () => migrations },
    ...(tracking.schema !== undefined && { migrationTableSchema: tracking.schema }),
    migrationTableName: tracking.table,
    migrationLockTableName: tracking.lock,
  });
  const { error, results } = await migrator.migrateToLatest();
  // A connection dropped on the way is no fault of the migration: PostgreSQL's run in one
  // transaction, which the drop rolled back, and a retry may well work.
  if (isConnectionFailure(error)) throw new StoreUnavailableError(dialect, { cause: error });
  if (error) throw migrationFailure(error, results?.find((r) => r.status === "Error")?.migrationName, where);
  return (results ?? []).filter((r: MigrationResult) => r.status === "Success").map((r) => r.migrationName);
}

/**
 * `db`, its introspection limited to `schema` for the migrator. Kysely's PostgreSQL
 * introspector lists every table of every schema in the database to find the migration
 * tables, looking each schema up by name as it goes: a schema another deployment (or a
 * test) drops meanwhile fails that lookup (`3F000 schema "..." does not exist`) and, with
 * it, our migration, though the schema was never ours. Ours only reads our own schema.
 */
function scopedTo(db: Kysely<unknown>, schema: string): Kysely<unknown> {
  const tables = async (): Promise<TableMetadata[]> => {
    const { rows } = await sql<{ name: string; isView: boolean }>`
      select c.relname as name, c.relkind = 'v' as "isView"
        from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
       where n.nspname = ${schema} and c.relkind in ('r', 'p', 'v')`.execute(db);
    return rows.map((row) => ({ name: row.name, isView: row.isView, schema, columns: [] }));
  };
  const introspection: DatabaseIntrospector = {
    getSchemas: async () => {
      const { rows } = await sql<{ name: string }>`
        select nspname as name from pg_catalog.pg_namespace where nspname = ${schema}`.execute(db);
      return rows;
    },
    getTables: tables,
    getMetadata: async () => ({ tables: await tables() }),
  };
  // Kysely's methods read private fields: each is called on the real instance.
  return new Proxy(db, {
    get(target, key) {
      if (key === "introspection") return introspection;
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/**
 * What a failed migration is (its connection intact): a table that exists already and is
 * not latchkey's (a host's `users`) is a set-up mistake with a fix; anything else is the
 * migration's own failure, named. Neither is "the store is unavailable": retrying changes
 * nothing.
 */
function migrationFailure(error: unknown, migration: string | undefined, where: Whereabouts | undefined): Error {
  const step = migration === undefined ? "a migration" : `migration ${migration}`;
  const duplicate = /(?:relation|table|index) "?([\w.]+)"? already exists/i.exec(messageOf(error));
  if (duplicate && where) {
    return new LatchkeySetupError(
      `${step} could not create "${duplicate[1]}": a table or index of that name is in ${where.place} and is not latchkey's. ${where.fix}`,
    );
  }
  return failure(step, error);
}

function failure(what: string, error: unknown): Error {
  return new Error(`latchkey: ${what} failed: ${messageOf(error)}`, { cause: error });
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
