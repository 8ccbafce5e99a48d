/**
 * The stores over Kysely, shared by every SQL backend. A backend supplies the Kysely
 * instance (dialect, pool, migrations) and how to recognise a unique-key violation.
 */
import { type Kysely, sql } from "kysely";
import type { ChangeFeed, DatabaseHandle, SessionStore, Stores } from "../../core/ports.js";
import { guardStore } from "../guard.js";
import { auditStore } from "./audit.js";
import { counterStore } from "./counters.js";
import { eventStore } from "./events.js";
import { challengeStore, factorStore } from "./factors.js";
import { keyStore } from "./keys.js";
import { linkTokenStore } from "./links.js";
import { refreshTokenStore } from "./refresh-tokens.js";
import type { Database } from "./schema.js";
import { secretStore } from "./secrets.js";
import { serviceStore } from "./services.js";
import { sessionStore } from "./sessions.js";
import { userStore } from "./users.js";

/** What a SQL backend tells the shared stores. */
export interface SqlBackend {
  /** For error messages: "sqlite", "postgres". */
  name: string;
  db: Kysely<Database>;
  isUniqueViolation(error: unknown): boolean;
  /** The change feed: each backend keeps its own promise that rows are read in commit order. */
  changes: ChangeFeed;
  /** Optional push for the change feed (PostgreSQL's LISTEN/NOTIFY). */
  subscribe?: ChangeFeed["subscribe"];
  /**
   * The reads on the request path, which each backend runs as prepared statements of its
   * own (the SQL and row mapping of `./request-path.ts`). They raise
   * `StoreUnavailableError` themselves: the guard's extra async frame stays off the path.
   */
  requestPath: { findWithUser: SessionStore["findWithUser"] };
  /**
   * Runs `write`, one statement that reads (a condition) and writes, so that no other such
   * statement runs between its read and its write, across processes: the last-admin guard.
   * SQLite runs every write statement under the database's write lock, taken when the
   * statement starts, so it runs `write` as it is; PostgreSQL first takes an advisory lock
   * in a transaction, and the statement (READ COMMITTED) sees what the last holder committed.
   */
  serializedWrite<T>(write: (db: Kysely<Database>) => Promise<T>): Promise<T>;
  /** The database lent to the host (`Stores.database`). */
  database: DatabaseHandle;
  /** Replaces the Kysely sweep of expired sessions (SQLite: one prepared statement). */
  sweepExpiredSessions?: SessionStore["sweepExpired"];
  close(): Promise<void>;
}

/**
 * @example
 * const stores = createSqlStores({ name: "sqlite", db, isUniqueViolation, requestPath, serializedWrite, close });
 */
export function createSqlStores(backend: SqlBackend): Stores {
  const { db, name, requestPath } = backend;
  const guard = <T extends object>(store: T): T => guardStore(name, store);
  const changes: ChangeFeed = backend.changes;
  if (backend.subscribe) changes.subscribe = backend.subscribe;
  // Closing twice is closing once: stores laid over these (Redis) close them too, and the
  // host that opened both may close both.
  let closing: Promise<void> | undefined;
  return {
    users: guard(userStore(backend)),
    sessions: {
      ...guard(sessionStore(db, backend.database.dialect)),
      findWithUser: requestPath.findWithUser,
      ...(backend.sweepExpiredSessions && { sweepExpired: backend.sweepExpiredSessions }),
    },
    refreshTokens: guard(refreshTokenStore(db)),
    keys: guard(keyStore(db)),
    events: guard(eventStore(db)),
    counters: guard(counterStore(db)),
    changes: guard(changes),
    secrets: guard(secretStore(db)),
    services: guard(serviceStore(db, backend.isUniqueViolation)),
    audit: guard(auditStore(db)),
    links: guard(linkTokenStore(db)),
    factors: guard(factorStore(db, backend.isUniqueViolation)),
    challenges: guard(challengeStore(db)),
    ping: guard({ ping: async () => void (await sql`select 1`.execute(db)) }).ping,
    close: () => {
      closing ??= backend.close();
      return closing;
    },
    database: backend.database,
  };
}
