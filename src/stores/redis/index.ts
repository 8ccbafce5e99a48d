import { randomUUID } from "node:crypto";
/**
 * Redis for the hot, expiring state of several instances: sessions, refresh tokens,
 * throttle counters and the change feed (with pub/sub wake-ups). Users, to-dos, events,
 * keys and secrets stay in the durable store (SQLite or PostgreSQL) this one is laid over.
 *
 * Every key expires with what it holds: a session at its idle (or absolute) expiry, a
 * refresh token at its own expiry, a counter at the end of its window. Each session hash
 * carries the user's public fields, so checking a session cookie is one Redis read.
 */
import { Decoder, Encoder } from "@msgpack/msgpack";
import { Redis } from "ioredis";
import { AuthError, StoreUnavailableError } from "../../core/errors.js";
import { memoize } from "../../core/memo.js";
import type { ChangeFeed, CounterStore, RefreshTokenStore, SessionStore, Stores } from "../../core/ports.js";
import type { ChangeKind, ChangeRecord, RefreshTokenRecord, SessionRecord, UserProfile } from "../../core/records.js";
import type { ValidSession } from "../../core/session-manager.js";
import { guardStore } from "../guard.js";
import { packAgent, unpackAgent } from "./agent-codec.js";
import * as lua from "./scripts.js";

/** Options of `openRedisStores`. */
export interface RedisOptions {
  url: string;
  /** The durable stores this one is laid over. */
  base: Stores;
  /** Key prefix (default `lk:`), so several deployments or test runs can share a server. */
  prefix?: string;
  /**
   * Told of connection errors (Redis down, a reconnect failing), at most one call per
   * client every 10 s. Without a listener ioredis prints `[ioredis] Unhandled error event`
   * lines to stderr, outside the JSON log; the server passes its logger's `warn`.
   */
  onError?: (error: Error, client: "commands" | "subscriber") => void;
}

/**
 * @example
 * const stores = await openRedisStores({ url: "redis://127.0.0.1:6379", base: await openPostgresStores({ url }) });
 */
export async function openRedisStores(options: RedisOptions): Promise<Stores> {
  const prefix = options.prefix ?? "lk:";
  const redis = connect(options.url, { autoPipelining: true });
  const subscriber = connect(options.url, { autoPipelining: false });
  reportErrors(redis, "commands", options.onError);
  reportErrors(subscriber, "subscriber", options.onError);
  try {
    await Promise.all([ready(redis), ready(subscriber)]);
    await redis.ping();
  } catch (error) {
    redis.disconnect();
    subscriber.disconnect();
    throw new StoreUnavailableError("redis", { cause: error });
  }
  const { base } = options;
  const guard = <T extends object>(store: T): T => guardStore("redis", store);
  const sessions = guard(sessionStore(redis, prefix, base));
  const markers = guard({
    disable: async (userId: string, at: number) =>
      void (await redis.eval(lua.DISABLE_USER, 0, prefix, compactUserId(userId), at, `${prefix}changes`)),
    clear: async (userId: string) => void (await redis.del(disabledMarker(prefix, userId))),
  });
  return {
    ...base,
    users: {
      ...base.users,
      // The sessions live here, not beside the user row: end them with the user.
      async delete(id) {
        await sessions.deleteByUser(id);
        const deleted = await base.users.delete(id);
        await markers.clear(id);
        return deleted;
      },
      // A session here carries its user's fields as they were at login, so a disabled user
      // must have none, whatever fails: one script marks the user disabled in Redis and ends
      // their sessions (publishing each end), before the durable store is written; a marked
      // user gets no new session; enabling clears the mark last. Reads stay one GET.
      async setDisabled(id, disabledAt) {
        if (disabledAt !== null) await markers.disable(id, disabledAt);
        const changed = await base.users.setDisabled(id, disabledAt);
        if (disabledAt === null) await markers.clear(id);
        return changed;
      },
    },
    sessions,
    refreshTokens: guard(refreshTokenStore(redis, prefix)),
    counters: guard(counterStore(redis, prefix)),
    changes: guard(changeFeed(redis, subscriber, prefix)),
    ping: async () => {
      await base.ping();
      await guard({ ping: () => redis.ping() }).ping();
    },
    close: async () => {
      subscriber.disconnect();
      await redis.quit().catch(() => redis.disconnect());
      await base.close();
    },
  };
}

/** Hands a client's `error` events to `onError`, at most one every 10 s (an outage repeats them). */
function reportErrors(
  client: Redis,
  name: "commands" | "subscriber",
  onError: RedisOptions["onError"] = () => {},
): void {
  let last = Number.NEGATIVE_INFINITY;
  client.on("error", (error: Error) => {
    const now = Date.now();
    if (now - last < 10_000) return;
    last = now;
    onError(error, name);
  });
}

/** Resolves when the client is connected, or fails after two seconds. */
function ready(client: Redis): Promise<void> {
  if (client.status === "ready") return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("Redis did not answer within 2 s")), 2000);
    client.once("ready", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

function connect(url: string, { autoPipelining }: { autoPipelining: boolean }): Redis {
  return new Redis(url, {
    // Fail fast while Redis is down (requests answer 503), reconnect in the background.
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    connectTimeout: 2000,
    retryStrategy: (attempt) => Math.min(1000, 50 * 2 ** attempt),
    lazyConnect: false,
    // Commands issued in the same tick (the session reads of concurrent requests) go out
    // as one write and come back as one read: ~5% less CPU per `session` request, ~8% more
    // requests per second (alternating builds). Not on the subscriber, which only subscribes.
    enableAutoPipelining: autoPipelining,
  });
}

const num = (value: string | undefined): number => Number(value ?? 0);

/**
 * EVAL with no keys, answering a Buffer (a packed session is binary). ioredis has a
 * Buffer-answering variant of every command, EVAL's included, but its types leave that
 * one out; `callBuffer("EVAL", ...)` is not a way around it, as auto-pipelining sends
 * the script itself as the command name.
 */
function evalBuffer(redis: Redis, script: string, ...args: string[]): Promise<Buffer | null> {
  const client = redis as unknown as {
    evalBuffer(script: string, numKeys: number, ...args: string[]): Promise<Buffer | null>;
  };
  return client.evalBuffer(script, 0, ...args);
}

/** The name of a disabled user's mark. */
function disabledMarker(prefix: string, userId: string): string {
  return `${prefix}${lua.DISABLED_KEY}${compactUserId(userId)}`;
}

/**
 * A session and its user's public fields as one MessagePack array (the layout is in
 * scripts.ts, whose Lua reads and rewrites it). Times after `createdAt` are offsets, so
 * they pack into 5 bytes, not 9; the kind is a one-byte code, the user id a 22-character
 * base64url of its 16 bytes, and the User-Agent is packed with a static dictionary. Text,
 * not MessagePack `bin`: Lua's cmsgpack repacks every string as `str`. One string key per
 * session with no field names: about a quarter of the memory of the hash it replaced
 * (measured by bench/redis-memory.mjs and bench/scale.mjs). Exported for the scale
 * bench's bulk filler, which writes a million sessions exactly as `create` would.
 */
export function packSession(session: SessionRecord, user: UserProfile): Uint8Array {
  return encoder.encode([
    compactUserId(session.userId),
    session.secretHash,
    KIND_CODES.indexOf(session.kind),
    session.remember,
    session.createdAt,
    session.lastSeenAt - session.createdAt,
    session.expiresAt - session.createdAt,
    session.idleTimeoutMs,
    session.idleExpiresAt - session.lastSeenAt,
    session.ip,
    packAgent(session.userAgent),
    user.username,
    user.createdAt,
  ]);
}

/**
 * One encoder and one decoder for the process: the library's `encode`/`decode` make a new
 * one (with its buffers) on every call, which showed as garbage-collector time on every
 * Redis-backed request. Both are synchronous, and re-entrant (they clone themselves when
 * re-entered); `encode` returns a copy, never a view of the shared buffer.
 */
const encoder = new Encoder();
const decoder = new Decoder();

/** A session's kind as its index here (append only: stored values refer to it). */
const KIND_CODES: readonly SessionRecord["kind"][] = ["session", "jwt", "hybrid", "bearer"];

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * A user id as stored in a session and in the name of the user's index: a lowercase UUID
 * as the base64url of its 16 bytes (22 characters, not 36), anything else verbatim after
 * `=`, which base64url never contains, so two ids never share a form.
 */
export function compactUserId(id: string): string {
  return UUID.test(id) ? Buffer.from(id.replaceAll("-", ""), "hex").toString("base64url") : `=${id}`;
}

/**
 * The names of a session's key and of its user's index, under a key prefix. Exported,
 * like `packSession`, for the scale bench's bulk filler.
 */
export function sessionKeys(prefix: string): { session(id: string): string; userIndex(userId: string): string } {
  return {
    session: (id) => `${prefix}${lua.SESSION_KEY}${id}`,
    userIndex: (userId) => `${prefix}${lua.USER_INDEX_KEY}${compactUserId(userId)}`,
  };
}

/** The inverse of `compactUserId`. */
export function expandUserId(compact: string): string {
  if (compact.startsWith("=")) return compact.slice(1);
  const hex = Buffer.from(compact, "base64url").toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

type PackedSession = [
  userId: string,
  secretHash: string,
  kind: number,
  remember: boolean,
  createdAt: number,
  lastSeenOffset: number,
  expiresOffset: number,
  idleTimeoutMs: number,
  idleExpiresOffset: number,
  ip: string,
  userAgent: string,
  username: string,
  userCreatedAt: number,
];

// A session's user id and User-Agent unpack to the same strings on every request that
// reads it: the last few thousand are kept (unpacking the agent is a regular-expression
// replace with a callback, the id a base64 decode and a hex format).
const userIdOf = memoize(expandUserId, 4096);
const agentOf = memoize(unpackAgent, 4096);

function unpackSession(id: string, packed: Uint8Array): ValidSession {
  const f = decoder.decode(packed) as PackedSession;
  const userId = userIdOf(f[0]);
  const createdAt = f[4];
  const lastSeenAt = createdAt + f[5];
  return {
    session: {
      id,
      userId,
      secretHash: f[1],
      kind: KIND_CODES[f[2]] as SessionRecord["kind"],
      remember: f[3],
      createdAt,
      lastSeenAt,
      expiresAt: createdAt + f[6],
      idleTimeoutMs: f[7],
      idleExpiresAt: lastSeenAt + f[8],
      ip: f[9],
      userAgent: agentOf(f[10]),
    },
    // A disabled user has no session here: disabling ends them all and refuses new ones.
    user: { id: userId, username: f[11], createdAt: f[12], disabledAt: null },
  };
}

const isLive = (s: SessionRecord, now: number) => now < s.idleExpiresAt && now < s.expiresAt;

function sessionStore(redis: Redis, p: string, base: Stores): SessionStore {
  const { session: key, userIndex } = sessionKeys(p);
  return {
    async create(session) {
      // The user's public fields ride along, so a lookup is one read.
      const user = await base.users.findById(session.userId);
      if (!user) throw new Error("no such user");
      const created = await redis.eval(
        lua.CREATE_SESSION,
        2,
        key(session.id),
        userIndex(session.userId),
        Buffer.from(packSession(session, user)) as unknown as string,
        session.idleExpiresAt,
        session.expiresAt,
        session.id,
        disabledMarker(p, session.userId),
      );
      if (created !== 1) throw new AuthError("account_disabled", "This account has been disabled.");
    },
    async findWithUser(id) {
      const packed = await redis.getBuffer(key(id));
      return packed ? unpackSession(id, packed) : null;
    },
    async touch(id, lastSeenAt, idleExpiresAt) {
      return (await redis.eval(lua.TOUCH, 1, key(id), lastSeenAt, idleExpiresAt)) === 1;
    },
    async replaceSecret(id, secretHash) {
      return (await redis.eval(lua.REPLACE_SECRET, 1, key(id), secretHash)) === 1;
    },
    async delete(id) {
      const packed = await evalBuffer(redis, lua.DELETE_SESSION, p, id);
      return packed ? unpackSession(id, packed).session : null;
    },
    async deleteByUser(userId, exceptId) {
      return (await redis.eval(lua.DELETE_USER_SESSIONS, 0, p, compactUserId(userId), exceptId ?? "")) as string[];
    },
    async listLive(now, userId) {
      const ids = userId !== undefined ? await redis.hkeys(userIndex(userId)) : await scanIds(redis, key("*"), key(""));
      const replies = ids.length > 0 ? await redis.mgetBuffer(...ids.map(key)) : [];
      const live: SessionRecord[] = [];
      const gone: string[] = [];
      replies.forEach((packed, i) => {
        const id = ids[i] as string;
        if (packed) {
          const { session } = unpackSession(id, packed);
          if (isLive(session, now)) live.push(session);
        } else gone.push(id);
      });
      // Expired sessions leave their ids behind in the user's index: tidy them on the way.
      if (userId !== undefined && gone.length > 0) await redis.hdel(userIndex(userId), ...gone);
      return live.sort((a, b) => b.createdAt - a.createdAt || b.id.localeCompare(a.id));
    },
    async sweepExpired() {
      // Redis expires session keys by itself, at their idle expiry.
      return 0;
    },
  };
}

async function scanIds(redis: Redis, pattern: string, strip: string): Promise<string[]> {
  const ids: string[] = [];
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", pattern, "COUNT", 500);
    cursor = next;
    for (const k of keys) ids.push(k.slice(strip.length));
  } while (cursor !== "0");
  return ids;
}

function refreshTokenStore(redis: Redis, p: string): RefreshTokenStore {
  const key = (id: string) => `${p}rt:${id}`;
  return {
    async create(token) {
      await redis
        .multi()
        .hset(key(token.id), {
          id: token.id,
          sessionId: token.sessionId,
          secretHash: token.secretHash,
          createdAt: String(token.createdAt),
          expiresAt: String(token.expiresAt),
          rotatedAt: token.rotatedAt === null ? "" : String(token.rotatedAt),
        })
        .pexpireat(key(token.id), token.expiresAt)
        .sadd(`${p}srt:${token.sessionId}`, token.id)
        .pexpireat(`${p}srt:${token.sessionId}`, token.expiresAt, "GT")
        .pexpireat(`${p}srt:${token.sessionId}`, token.expiresAt, "NX")
        .exec();
    },
    async find(id) {
      const f = await redis.hgetall(key(id));
      if (!f.id) return null;
      const token: RefreshTokenRecord = {
        id: f.id,
        sessionId: f.sessionId as string,
        secretHash: f.secretHash as string,
        createdAt: num(f.createdAt),
        expiresAt: num(f.expiresAt),
        rotatedAt: f.rotatedAt ? num(f.rotatedAt) : null,
      };
      return token;
    },
    async markRotated(id, now) {
      return (await redis.eval(lua.MARK_ROTATED, 1, key(id), now)) === 1;
    },
    async retireForSession(sessionId, now) {
      await redis.eval(lua.RETIRE_SESSION_TOKENS, 0, p, sessionId, now);
    },
  };
}

function counterStore(redis: Redis, p: string): CounterStore {
  const key = (k: string) => `${p}c:${k}`;
  return {
    async hit(k, windowMs, now) {
      const [count, resetAt] = (await redis.eval(lua.HIT, 1, key(k), now, windowMs)) as [number, number];
      return { count: Number(count), resetAt: Number(resetAt) };
    },
    async peek(k, now) {
      const value = await redis.get(key(k));
      if (!value) return null;
      const [count, resetAt] = value.split(":").map(Number) as [number, number];
      return resetAt > now ? { count, resetAt } : null;
    },
    async release(k, now) {
      await redis.eval(lua.RELEASE, 1, key(k), now);
    },
    async reset(k) {
      await redis.del(key(k));
    },
    async sweepExpired() {
      // Counter keys expire at the end of their window.
      return 0;
    },
  };
}

function changeFeed(redis: Redis, subscriber: Redis, p: string): ChangeFeed {
  const feed = `${p}changes`;
  const channel = `${p}changes`;
  const parse = (member: string): ChangeRecord => {
    const [seq, kind, at, ...subject] = member.split("|");
    return { seq: Number(seq), kind: kind as ChangeKind, at: Number(at), subject: subject.join("|") };
  };
  const wakers = new Set<() => void>();
  let subscribed = false;
  subscriber.on("message", () => {
    for (const wake of wakers) wake();
  });
  // After a reconnect, wake the followers so they catch up on what they missed.
  subscriber.on("ready", () => {
    if (subscribed) for (const wake of wakers) wake();
  });
  return {
    async publish(kind, subject, at) {
      await redis.eval(lua.PUBLISH, 2, `${feed}:seq`, feed, kind, subject, at, channel);
    },
    async read(afterSeq, notBefore, limit) {
      const members = (await redis.eval(lua.READ_FEED, 1, feed, afterSeq, notBefore, limit)) as string[];
      return members.map(parse);
    },
    async position() {
      const [epoch, seq] = (await redis.eval(
        lua.FEED_POSITION,
        3,
        `${feed}:epoch`,
        `${feed}:seq`,
        feed,
        randomUUID(),
      )) as [string, string];
      return { epoch, seq: Number(seq) };
    },
    async prune(before) {
      let pruned = 0;
      for (;;) {
        const oldest = await redis.zrange(feed, 0, 199);
        const old = oldest.filter((m) => parse(m).at < before);
        if (old.length === 0) return pruned;
        pruned += await redis.zrem(feed, ...old);
        if (old.length < oldest.length) return pruned;
      }
    },
    subscribe(wake) {
      wakers.add(wake);
      if (!subscribed) {
        subscribed = true;
        subscriber.subscribe(channel).catch(() => {
          subscribed = false;
        });
      }
      return () => wakers.delete(wake);
    },
  };
}
