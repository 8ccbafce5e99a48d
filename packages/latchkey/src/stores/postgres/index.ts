/**
 * PostgreSQL through `pg` and Kysely, for several instances on one database. Queries are
 * the shared ones of `src/stores/sql`, the two reads on the request path as prepared
 * statements (below); this file adds the pool, the migrations, and LISTEN/NOTIFY so the
 * change feed reaches other instances at once (they also poll).
 */
import { Kysely, type Migration, PostgresDialect, sql } from "kysely";
import pg from "pg";
import { StoreUnavailableError } from "../../core/errors.js";
import type { SessionStore, Stores } from "../../core/ports.js";
import { migrateLatchkey, runMigrations, type Whereabouts } from "../sql/migrate.js";
import { type SessionLookupRow, sessionLookupSql, validSessionOf } from "../sql/request-path.js";
import type { Database } from "../sql/schema.js";
import { createSqlStores } from "../sql/stores.js";
import { postgresChangeFeed } from "./change-feed.js";
import { ChangeListener } from "./listener.js";
import * as initial from "./migrations/0001-initial.js";
import * as todoOrder from "./migrations/0002-todo-order.js";
import * as services from "./migrations/0003-services.js";
import * as feedOrder from "./migrations/0004-feed-order.js";
import * as roles from "./migrations/0005-roles.js";
import * as sessionRenewal from "./migrations/0006-session-renewal.js";
import * as email from "./migrations/0007-email.js";
import * as signInMethods from "./migrations/0008-sign-in-methods.js";
import * as secondFactors from "./migrations/0009-second-factors.js";
import * as eventRetention from "./migrations/0010-event-retention.js";
import { checkSchema, ensureSchema, inSchema } from "./search-path.js";

const MIGRATIONS: Record<string, Migration> = {
  "0001-initial": initial,
  "0002-todo-order": todoOrder,
  "0003-services": services,
  "0004-feed-order": feedOrder,
  "0005-roles": roles,
  "0006-session-renewal": sessionRenewal,
  "0007-email": email,
  "0008-sign-in-methods": signInMethods,
  "0009-second-factors": secondFactors,
  "0010-event-retention": eventRetention,
};

/**
 * Options of `openPostgresStores`.
 * @example
 * const options: PostgresOptions = { url: "postgres://localhost/app", schema: "latchkey", max: 20 };
 */
export interface PostgresOptions {
  /** `postgres://user@host:port/database` */
  url: string;
  /**
   * The schema latchkey's tables live in (created when missing), for a database it shares
   * with your app: `"latchkey"` keeps its `users`, `sessions` and the rest away from yours
   * in `public`. Lower-case letters, digits and `_`. Default: the connection's current
   * schema (`public`, or the URL's `search_path`).
   */
  schema?: string;
  /** Apply pending migrations on open (default `true`). */
  migrate?: boolean;
  /** Pool size (default 10). */
  max?: number;
}

/**
 * Opens the stores, applying pending migrations unless `migrate: false`. A table of your
 * app's where latchkey's would go (a `users` in `public`) is a `LatchkeySetupError` naming
 * it and the fix (`schema`); a database that does not answer, `StoreUnavailableError`.
 *
 * @example
 * const stores = await openPostgresStores({ url: "postgres://postgres@127.0.0.1/app", schema: "latchkey" });
 */
export async function openPostgresStores(options: PostgresOptions): Promise<Stores> {
  const schema = checkSchema(options.schema);
  const url = inSchema(options.url, schema);
  const pool = openPool({
    connectionString: url,
    max: options.max ?? 10,
    connectionTimeoutMillis: 2000,
    // A query that waits on a dead server fails in seconds, so requests answer 503.
    query_timeout: 5000,
  });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  try {
    if (options.migrate ?? true) await migrate(db, schema);
  } catch (error) {
    await db.destroy();
    throw error;
  }
  const listener = new ChangeListener(url);
  return createSqlStores({
    name: "postgres",
    db,
    // Every publish also notifies the schema's channel, so listeners on other instances of
    // this deployment read at once.
    changes: postgresChangeFeed(db, pool),
    isUniqueViolation: (error) =>
      typeof error === "object" && error !== null && "code" in error && error.code === "23505",
    subscribe: (wake) => listener.subscribe(wake),
    requestPath: { findWithUser: sessionLookup(pool) },
    // READ COMMITTED, after a lock per schema (deployments in other schemas never wait):
    // each statement sees what the previous holder committed.
    serializedWrite: (write) =>
      db.transaction().execute(async (trx) => {
        await sql`select pg_advisory_xact_lock(hashtext('latchkey.admins.' || current_schema()))`.execute(trx);
        return write(trx);
      }),
    database: {
      dialect: "postgres",
      kysely: db as Kysely<unknown>,
      driver: pool,
      migrate: (namespace, migrations) => runMigrations(db as Kysely<unknown>, "postgres", migrations, namespace),
    },
    close: async () => {
      await listener.close();
      await db.destroy();
    },
  });
}

/**
 * A pool whose lost connections never crash the process. `pg` emits a connection's loss as
 * an `error` event, on the pool for an idle client and on the client itself for one in use,
 * and an `error` event nobody listens to is an uncaught exception: a server restart or a
 * network cut under a query (or a migration) ended the host's process. The query fails
 * anyway, and is StoreUnavailableError; the pool drops the client when it is released, and
 * the next query connects again.
 */
function openPool(config: pg.PoolConfig): pg.Pool {
  const pool = new pg.Pool(config);
  pool.on("error", () => {});
  pool.on("connect", (client) => client.on("error", () => {}));
  return pool;
}

/**
 * The request path's one read, as SQLite's is (src/stores/sqlite): a named prepared
 * statement (PostgreSQL parses and plans it once per connection) with rows as arrays, and
 * no per-query compile or keyed row objects.
 */
function sessionLookup(pool: pg.Pool): SessionStore["findWithUser"] {
  const text = sessionLookupSql("$1");
  return async (id) => {
    const row = (await prepared<SessionLookupRow>(pool, "latchkey_session_lookup", text, id))[0];
    return row ? validSessionOf(row) : null;
  };
}

/**
 * Runs a named prepared statement of the methods above, which replace guarded Kysely
 * ones: a driver failure is `StoreUnavailableError`, as `guardStore` makes it.
 */
async function prepared<Row>(pool: pg.Pool, name: string, text: string, value: string): Promise<Row[]> {
  try {
    const result = await pool.query({ name, text, values: [value], rowMode: "array" });
    return result.rows as Row[];
  } catch (error) {
    throw new StoreUnavailableError("postgres", { cause: error });
  }
}

/**
 * Applies pending PostgreSQL migrations (in `options.schema`, as `openPostgresStores`
 * would); returns what was applied.
 *
 * @example
 * await migratePostgres("postgres://postgres@127.0.0.1/app", { schema: "latchkey" });
 */
export async function migratePostgres(url: string, options: Pick<PostgresOptions, "schema"> = {}): Promise<string[]> {
  const schema = checkSchema(options.schema);
  const pool = openPool({ connectionString: inSchema(url, schema), max: 1, connectionTimeoutMillis: 2000 });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  try {
    return await migrate(db, schema);
  } finally {
    await db.destroy();
  }
}

const whereabouts = (current: string | undefined): Whereabouts => ({
  place: `schema "${current}"`,
  fix: 'Give latchkey a schema of its own: openPostgresStores({ url, schema: "latchkey" }) (the server: DATABASE_SCHEMA=latchkey).',
});

async function migrate(db: Kysely<Database>, schema: string | undefined): Promise<string[]> {
  if (schema !== undefined) await ensureSchema(db as Kysely<unknown>, schema);
  return migrateLatchkey(db as Kysely<unknown>, "postgres", MIGRATIONS, whereabouts);
}
