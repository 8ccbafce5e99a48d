/**
 * PostgreSQL through `pg` and Kysely, for several instances on one database. Queries are
 * the shared ones of `src/stores/sql`, the two reads on the request path as prepared
 * statements (below); this file adds the pool, the migrations, and LISTEN/NOTIFY so the
 * change feed reaches other instances at once (they also poll).
 */
import { Kysely, type Migration, PostgresDialect } from "kysely";
import pg from "pg";
import { StoreUnavailableError } from "../../core/errors.js";
import type { SessionStore, Stores } from "../../core/ports.js";
import { runMigrations } from "../sql/migrate.js";
import { type SessionLookupRow, sessionLookupSql, validSessionOf } from "../sql/request-path.js";
import type { Database } from "../sql/schema.js";
import { createSqlStores } from "../sql/stores.js";
import { postgresChangeFeed } from "./change-feed.js";
import * as initial from "./migrations/0001-initial.js";
import * as todoOrder from "./migrations/0002-todo-order.js";
import * as services from "./migrations/0003-services.js";
import * as feedOrder from "./migrations/0004-feed-order.js";

const MIGRATIONS: Record<string, Migration> = {
  "0001-initial": initial,
  "0002-todo-order": todoOrder,
  "0003-services": services,
  "0004-feed-order": feedOrder,
};
const CHANNEL = "latchkey_changes";

/**
 * Options of `openPostgresStores`.
 * @example
 * const options: PostgresOptions = { url: "postgres://localhost/app", max: 20 };
 */
export interface PostgresOptions {
  /** `postgres://user@host:port/database` */
  url: string;
  /** Apply pending migrations on open (default `true`). */
  migrate?: boolean;
  /** Pool size (default 10). */
  max?: number;
}

/**
 * @example
 * const stores = await openPostgresStores({ url: "postgres://postgres@127.0.0.1/latchkey" });
 */
export async function openPostgresStores(options: PostgresOptions): Promise<Stores> {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.max ?? 10,
    connectionTimeoutMillis: 2000,
    // A query that waits on a dead server fails in seconds, so requests answer 503.
    query_timeout: 5000,
  });
  // An idle client losing its connection must not crash the process; the next query
  // reconnects.
  pool.on("error", () => {});
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  try {
    if (options.migrate ?? true) await migrate(db);
  } catch (error) {
    await db.destroy();
    throw error instanceof StoreUnavailableError ? error : new StoreUnavailableError("postgres", { cause: error });
  }
  const listener = new ChangeListener(options.url);
  return createSqlStores({
    name: "postgres",
    db,
    // Every publish also notifies, so listeners on other instances read at once.
    changes: postgresChangeFeed(db, pool, CHANNEL),
    isUniqueViolation: (error) =>
      typeof error === "object" && error !== null && "code" in error && error.code === "23505",
    subscribe: (wake) => listener.subscribe(wake),
    requestPath: { findWithUser: sessionLookup(pool) },
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
 * Applies pending PostgreSQL migrations; returns what was applied.
 *
 * @example
 * await migratePostgres("postgres://postgres@127.0.0.1/latchkey");
 */
export async function migratePostgres(url: string): Promise<string[]> {
  const db = new Kysely<Database>({
    dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url, max: 1 }) }),
  });
  try {
    return await migrate(db);
  } finally {
    await db.destroy();
  }
}

function migrate(db: Kysely<Database>): Promise<string[]> {
  return runMigrations(db as Kysely<unknown>, "postgres", MIGRATIONS);
}

/**
 * One dedicated connection that LISTENs for change notifications, reconnecting with
 * backoff. A wake-up after a reconnect lets followers catch up on what they missed.
 */
class ChangeListener {
  readonly #url: string;
  readonly #wakers = new Set<() => void>();
  #client: pg.Client | undefined;
  #closed = false;
  #retry: NodeJS.Timeout | undefined;

  constructor(url: string) {
    this.#url = url;
  }

  subscribe(wake: () => void): () => void {
    this.#wakers.add(wake);
    if (!this.#client && !this.#retry) void this.#connect(0);
    return () => this.#wakers.delete(wake);
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#retry) clearTimeout(this.#retry);
    await this.#client?.end().catch(() => {});
  }

  async #connect(attempt: number): Promise<void> {
    this.#retry = undefined;
    if (this.#closed) return;
    const client = new pg.Client({ connectionString: this.#url, connectionTimeoutMillis: 2000 });
    // Known to `close` from now on: a close while it connects must end it too, or its socket
    // keeps the process alive (a CLI command that finished before LISTEN did never exited).
    this.#client = client;
    const retry = () => {
      if (this.#client === client) this.#client = undefined;
      client.end().catch(() => {});
      if (!this.#closed && !this.#retry) {
        this.#retry = setTimeout(() => void this.#connect(attempt + 1), Math.min(2000, 100 * 2 ** attempt));
        this.#retry.unref();
      }
    };
    client.on("error", retry);
    client.on("end", retry);
    client.on("notification", () => this.#wakeAll());
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANNEL}`);
      this.#wakeAll();
    } catch {
      retry();
    }
  }

  #wakeAll(): void {
    for (const wake of this.#wakers) wake();
  }
}
