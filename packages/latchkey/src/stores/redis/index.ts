/**
 * Redis for the hot, expiring state of several instances: sessions, refresh tokens,
 * throttle counters and the change feed (with pub/sub wake-ups). Users (their email
 * addresses with them), mailed-link tokens, events, keys and secrets stay in the durable
 * store (SQLite or PostgreSQL) this one is laid over, whose database it lends on
 * (`Stores.database`). One file per port beside this one.
 *
 * Every key expires with what it holds: a session at its idle (or absolute) expiry, a
 * refresh token at its own expiry, a counter at the end of its window. Each session value
 * carries the user's public fields (`UserProfile`: never the password hash or the email
 * address), so checking a session cookie is one Redis read.
 */
import { Redis } from "ioredis";
import { StoreUnavailableError } from "../../core/errors.js";
import type { Stores, UserStore } from "../../core/ports.js";
import { guardStore } from "../guard.js";
import { changeFeed } from "./change-feed.js";
import { counterStore } from "./counters.js";
import { refreshTokenStore } from "./refresh-tokens.js";
import { rolesCopier } from "./roles.js";
import * as lua from "./scripts.js";
import { compactUserId } from "./session-codec.js";
import { sessionStore } from "./sessions.js";
import { disabledMarker } from "./util.js";

/**
 * Options of `openRedisStores`.
 * @example
 * const options: RedisOptions = { url: "redis://127.0.0.1:6379", base: stores, prefix: "app:" };
 */
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
 * const stores = await openRedisStores({
 *   url: "redis://127.0.0.1:6379",
 *   base: await openPostgresStores({ url: "postgres://localhost/app" }),
 * });
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
  let closing: Promise<void> | undefined;
  const guard = <T extends object>(store: T): T => guardStore("redis", store);
  const sessions = guard(sessionStore(redis, prefix, base));
  const markers = guard({
    disable: async (userId: string, at: number) =>
      void (await redis.eval(lua.DISABLE_USER, 0, prefix, compactUserId(userId), at, `${prefix}changes`)),
    clear: async (userId: string) => void (await redis.del(disabledMarker(prefix, userId))),
  });
  const { copyRoles } = guard({ copyRoles: rolesCopier(redis, prefix, base) });
  return {
    ...base,
    users: {
      ...base.users,
      // The sessions live here, not beside the user row: end them with the user.
      async delete(id) {
        if (await wouldBeLastAdmin(base.users, id)) return "last_admin";
        await sessions.deleteByUser(id);
        const deleted = await base.users.delete(id);
        if (deleted !== "last_admin") await markers.clear(id);
        return deleted;
      },
      // A session here carries its user's fields as they were at login, so a disabled user
      // must have none, whatever fails: one script marks the user disabled in Redis and ends
      // their sessions (publishing each end), before the durable store is written; a marked
      // user gets no new session; enabling clears the mark last. Reads stay one GET.
      async setDisabled(id, disabledAt) {
        if (disabledAt !== null) {
          // The last admin is refused before anything here changes; the store's own
          // (atomic) refusal below covers a race with another admin's disabling.
          if (await wouldBeLastAdmin(base.users, id)) return "last_admin";
          await markers.disable(id, disabledAt);
        }
        const changed = await base.users.setDisabled(id, disabledAt);
        // Enabled, or still enabled (refused): no mark may stay to refuse their logins.
        if (disabledAt === null || changed === "last_admin") await markers.clear(id);
        return changed;
      },
      // The store decides (the roles, their rolesAt, and the last admin's guard); each
      // session's copy follows, with the roles and rolesAt read back from the store.
      async setRoles(id, roles, at) {
        const rolesAt = await base.users.setRoles(id, roles, at);
        if (typeof rolesAt === "number") await copyRoles(id);
        return rolesAt;
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
    // Closes the durable stores too (once, however often it is called).
    close: () => {
      closing ??= (async () => {
        subscriber.disconnect();
        await redis.quit().catch(() => redis.disconnect());
        await base.close();
      })();
      return closing;
    },
  };
}

/**
 * Whether `id` is the only enabled admin (see `UserStore.setRoles`): a read ahead of the
 * store's own atomic check, so that a refused disable or delete ends no session first.
 */
async function wouldBeLastAdmin(users: UserStore, id: string): Promise<boolean> {
  const user = await users.findById(id);
  if (!user || user.disabledAt !== null || !user.roles.includes("admin")) return false;
  const limit = 100;
  for (let after: string | undefined; ; ) {
    const page = await users.search({ query: "", role: "admin", limit, ...(after !== undefined && { after }) });
    if (page.some((other) => other.id !== id && other.disabledAt === null)) return false;
    if (page.length < limit) return true;
    after = page.at(-1)?.username;
  }
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
    // A command in flight when its connection drops would otherwise wait for ever while a
    // proxy in front of Redis keeps accepting and closing connections (ioredis counts its
    // retries again on each one): past 2 s it is an outage, answered 503.
    commandTimeout: 2000,
    retryStrategy: (attempt) => Math.min(1000, 50 * 2 ** attempt),
    lazyConnect: false,
    // Commands issued in the same tick (the session reads of concurrent requests) go out
    // as one write and come back as one read: ~5% less CPU per `session` request, ~8% more
    // requests per second (alternating builds). Not on the subscriber, which only subscribes.
    enableAutoPipelining: autoPipelining,
  });
}
