import { randomUUID } from "node:crypto";
/**
 * The stores over Kysely, shared by every SQL backend. A backend supplies the Kysely
 * instance (dialect, pool, migrations) and how to recognise a unique-key violation.
 */
import { type Kysely, sql } from "kysely";
import type {
  ChangeFeed,
  CounterStore,
  DatabaseHandle,
  EventStore,
  KeyStore,
  RefreshTokenStore,
  SecretStore,
  SessionStore,
  Stores,
  UserStore,
} from "../../core/ports.js";
import { guardStore } from "../guard.js";
import { fromSession, fromUser, toChange, toEvent, toRefreshToken, toSession, toSigningKey, toUser } from "./rows.js";
import type { Database } from "./schema.js";

/** What a SQL backend tells the shared stores. */
export interface SqlBackend {
  /** For error messages: "sqlite", "postgres". */
  name: string;
  db: Kysely<Database>;
  isUniqueViolation(error: unknown): boolean;
  /** Optional push for the change feed (PostgreSQL's LISTEN/NOTIFY). */
  subscribe?: ChangeFeed["subscribe"];
  /**
   * The reads on the request path, which each backend runs as prepared statements of its
   * own (the SQL and row mapping of `./request-path.ts`). They raise
   * `StoreUnavailableError` themselves: the guard's extra async frame stays off the path.
   */
  requestPath: { findWithUser: SessionStore["findWithUser"] };
  /** The database lent to the host (`Stores.database`). */
  database: DatabaseHandle;
  /** Replaces the Kysely sweep of expired sessions (SQLite: one prepared statement). */
  sweepExpiredSessions?: SessionStore["sweepExpired"];
  close(): Promise<void>;
}

/**
 * @example
 * const stores = createSqlStores({ name: "sqlite", db, isUniqueViolation, requestPath, close });
 */
export function createSqlStores(backend: SqlBackend): Stores {
  const { db, name, requestPath } = backend;
  const guard = <T extends object>(store: T): T => guardStore(name, store);
  const changes: ChangeFeed = changeFeed(db);
  if (backend.subscribe) changes.subscribe = backend.subscribe;
  return {
    users: guard(userStore(backend)),
    sessions: {
      ...guard(sessionStore(db)),
      findWithUser: requestPath.findWithUser,
      ...(backend.sweepExpiredSessions && { sweepExpired: backend.sweepExpiredSessions }),
    },
    refreshTokens: guard(refreshTokenStore(db)),
    keys: guard(keyStore(db)),
    events: guard(eventStore(db)),
    counters: guard(counterStore(db)),
    changes: guard(changes),
    secrets: guard(secretStore(db)),
    ping: guard({ ping: async () => void (await sql`select 1`.execute(db)) }).ping,
    close: () => backend.close(),
    database: backend.database,
  };
}

function userStore({ db, isUniqueViolation }: SqlBackend): UserStore {
  return {
    async create(user) {
      try {
        await db.insertInto("users").values(fromUser(user)).execute();
        return true;
      } catch (error) {
        if (isUniqueViolation(error)) return false;
        throw error;
      }
    },
    async findById(id) {
      const row = await db.selectFrom("users").selectAll().where("id", "=", id).executeTakeFirst();
      return row ? toUser(row) : null;
    },
    async findByUsername(username) {
      const row = await db.selectFrom("users").selectAll().where("username", "=", username).executeTakeFirst();
      return row ? toUser(row) : null;
    },
    async list() {
      const rows = await db.selectFrom("users").selectAll().orderBy("username").execute();
      return rows.map(toUser);
    },
    async updatePasswordHash(id, passwordHash) {
      const result = await db
        .updateTable("users")
        .set({ password_hash: passwordHash })
        .where("id", "=", id)
        .executeTakeFirst();
      return result.numUpdatedRows > 0n;
    },
    async setDisabled(id, disabledAt) {
      const result = await db
        .updateTable("users")
        .set({ disabled_at: disabledAt })
        .where("id", "=", id)
        .executeTakeFirst();
      return result.numUpdatedRows > 0n;
    },
    async delete(id) {
      // Sessions, to-dos and events go with the user (ON DELETE CASCADE).
      const result = await db.deleteFrom("users").where("id", "=", id).executeTakeFirst();
      return result.numDeletedRows > 0n;
    },
  };
}

function sessionStore(db: Kysely<Database>): Omit<SessionStore, "findWithUser"> {
  return {
    async create(session) {
      await db.insertInto("sessions").values(fromSession(session)).execute();
    },
    async touch(id, lastSeenAt, idleExpiresAt) {
      const result = await db
        .updateTable("sessions")
        .set({ last_seen_at: lastSeenAt, idle_expires_at: idleExpiresAt })
        .where("id", "=", id)
        .executeTakeFirst();
      return result.numUpdatedRows > 0n;
    },
    async replaceSecret(id, secretHash) {
      const result = await db
        .updateTable("sessions")
        .set({ secret_hash: secretHash })
        .where("id", "=", id)
        .executeTakeFirst();
      return result.numUpdatedRows > 0n;
    },
    async delete(id) {
      const row = await db.deleteFrom("sessions").where("id", "=", id).returningAll().executeTakeFirst();
      return row ? toSession(row) : null;
    },
    async deleteByUser(userId, exceptId) {
      let query = db.deleteFrom("sessions").where("user_id", "=", userId);
      if (exceptId !== undefined) query = query.where("id", "!=", exceptId);
      const rows = await query.returning("id").execute();
      return rows.map((row) => row.id);
    },
    async listLive(now, userId) {
      let query = db
        .selectFrom("sessions")
        .selectAll()
        .where("idle_expires_at", ">", now)
        .where("expires_at", ">", now);
      if (userId !== undefined) query = query.where("user_id", "=", userId);
      const rows = await query.orderBy("created_at", "desc").orderBy("id", "desc").execute();
      return rows.map(toSession);
    },
    async sweepExpired(now, limit) {
      // idle_expires_at <= expires_at always, so one indexed range finds every dead row.
      const result = await db
        .deleteFrom("sessions")
        .where("id", "in", db.selectFrom("sessions").select("id").where("idle_expires_at", "<=", now).limit(limit))
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}

function refreshTokenStore(db: Kysely<Database>): RefreshTokenStore {
  return {
    async create(token) {
      await db
        .insertInto("refresh_tokens")
        .values({
          id: token.id,
          session_id: token.sessionId,
          secret_hash: token.secretHash,
          created_at: token.createdAt,
          expires_at: token.expiresAt,
          rotated_at: token.rotatedAt,
        })
        .execute();
    },
    async find(id) {
      const row = await db.selectFrom("refresh_tokens").selectAll().where("id", "=", id).executeTakeFirst();
      return row ? toRefreshToken(row) : null;
    },
    async markRotated(id, now) {
      // One conditional UPDATE: the database lets exactly one of two racing calls match.
      const result = await db
        .updateTable("refresh_tokens")
        .set({ rotated_at: now })
        .where("id", "=", id)
        .where("rotated_at", "is", null)
        .executeTakeFirst();
      return result.numUpdatedRows > 0n;
    },
    async retireForSession(sessionId, now) {
      await db
        .updateTable("refresh_tokens")
        .set({ rotated_at: now })
        .where("session_id", "=", sessionId)
        .where("rotated_at", "is", null)
        .execute();
    },
  };
}

function keyStore(db: Kysely<Database>): KeyStore {
  return {
    async list() {
      const rows = await db.selectFrom("signing_keys").selectAll().orderBy("created_at").orderBy("kid").execute();
      return rows.map(toSigningKey);
    },
    async add(key) {
      await db
        .insertInto("signing_keys")
        .values({
          kid: key.kid,
          alg: key.alg,
          public_jwk: key.publicJwk,
          private_jwk: key.privateJwk,
          created_at: key.createdAt,
          retired_at: key.retiredAt,
        })
        .execute();
    },
    async retireOthers(keepKid, alg, at) {
      await db
        .updateTable("signing_keys")
        .set({ retired_at: at })
        .where("kid", "!=", keepKid)
        .where("alg", "=", alg)
        .where("retired_at", "is", null)
        .execute();
    },
    async deleteRetiredBefore(before) {
      const result = await db.deleteFrom("signing_keys").where("retired_at", "<", before).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}

function eventStore(db: Kysely<Database>): EventStore {
  return {
    async append(event) {
      await db
        .insertInto("events")
        .values({
          id: event.id,
          user_id: event.userId,
          type: event.type,
          at: event.at,
          session_id: event.sessionId,
          ip: event.ip,
          user_agent: event.userAgent,
        })
        .execute();
    },
    async listByUser(userId, limit) {
      const rows = await db
        .selectFrom("events")
        .selectAll()
        .where("user_id", "=", userId)
        .orderBy("seq", "desc")
        .limit(limit)
        .execute();
      return rows.map(toEvent);
    },
  };
}

function counterStore(db: Kysely<Database>): CounterStore {
  return {
    async hit(key, windowMs, now) {
      // One statement, so concurrent hits from any process are serialised by the database.
      const resetAt = now + windowMs;
      const row = await db
        .insertInto("counters")
        .values({ key, count: 1, reset_at: resetAt })
        .onConflict((oc) =>
          oc.column("key").doUpdateSet({
            count: sql`case when counters.reset_at <= ${now} then 1 else counters.count + 1 end`,
            reset_at: sql`case when counters.reset_at <= ${now} then ${resetAt} else counters.reset_at end`,
          }),
        )
        .returning(["count", "reset_at"])
        .executeTakeFirstOrThrow();
      return { count: Number(row.count), resetAt: Number(row.reset_at) };
    },
    async peek(key, now) {
      const row = await db
        .selectFrom("counters")
        .select(["count", "reset_at"])
        .where("key", "=", key)
        .where("reset_at", ">", now)
        .executeTakeFirst();
      return row ? { count: Number(row.count), resetAt: Number(row.reset_at) } : null;
    },
    async release(key, now) {
      await db
        .updateTable("counters")
        .set({ count: sql`count - 1` })
        .where("key", "=", key)
        .where("reset_at", ">", now)
        .where("count", ">", 0)
        .execute();
    },
    async reset(key) {
      await db.deleteFrom("counters").where("key", "=", key).execute();
    },
    async sweepExpired(now) {
      const result = await db.deleteFrom("counters").where("reset_at", "<=", now).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}

/** The secret-table row that names the change feed's history. */
const FEED_EPOCH = "change-feed-epoch";

function changeFeed(db: Kysely<Database>): ChangeFeed {
  return {
    async publish(kind, subject, at) {
      await db.insertInto("changes").values({ kind, subject, at }).execute();
    },
    async read(afterSeq, notBefore, limit) {
      const rows = await db
        .selectFrom("changes")
        .selectAll()
        .where("seq", ">", afterSeq)
        .where("at", ">=", notBefore)
        .orderBy("seq")
        .limit(limit)
        .execute();
      return rows.map(toChange);
    },
    async position() {
      // The epoch is a secret-table row: a new database is a new history. A sequence
      // number never goes back in one database (AUTOINCREMENT, an identity column) unless
      // an older backup is restored, which `seq` shows.
      const row = await db
        .selectNoFrom((eb) => [
          eb.selectFrom("secrets").select("value").where("name", "=", FEED_EPOCH).as("epoch"),
          eb
            .selectFrom("changes")
            .select((e) => e.fn.max("seq").as("seq"))
            .as("seq"),
        ])
        .executeTakeFirstOrThrow();
      const epoch = row.epoch ?? (await secretStore(db).getOrCreate(FEED_EPOCH, randomUUID()));
      return { epoch, seq: Number(row.seq ?? 0) };
    },
    async prune(before) {
      const result = await db.deleteFrom("changes").where("at", "<", before).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}

function secretStore(db: Kysely<Database>): SecretStore {
  return {
    async getOrCreate(name, candidate) {
      await db
        .insertInto("secrets")
        .values({ name, value: candidate, created_at: Date.now() })
        .onConflict((oc) => oc.column("name").doNothing())
        .execute();
      const row = await db.selectFrom("secrets").select("value").where("name", "=", name).executeTakeFirstOrThrow();
      return row.value;
    },
  };
}
