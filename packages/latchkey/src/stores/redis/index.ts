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
import { StoreUnavailableError } from "../../core/errors.js";
import type { Stores, UserStore } from "../../core/ports.js";
import { guardStore } from "../guard.js";
import { changeFeed } from "./change-feed.js";
import { connect, type RedisClient, replicatedLink } from "./client.js";
import { counterStore } from "./counters.js";
import { refreshTokenStore } from "./refresh-tokens.js";
import { rolesCopier } from "./roles.js";
import * as lua from "./scripts.js";
import { compactUserId } from "./session-codec.js";
import { sessionStore } from "./sessions.js";
import { clusterPrefix, parseRedisUrl } from "./topology.js";
import { disabledMarker, disableEndedKey } from "./util.js";

/**
 * Options of `openRedisStores`.
 * @example
 * const options: RedisOptions = { url: "redis://127.0.0.1:6379", base: stores, prefix: "app:" };
 */
export interface RedisOptions {
  /**
   * `redis://` or `rediss://` for one server, `redis+sentinel://host,host,host/name` for a
   * primary watched by Sentinels, `redis+cluster://host,host,host` for a Cluster (see
   * `parseRedisUrl`).
   */
  url: string;
  /** The durable stores this one is laid over. */
  base: Stores;
  /**
   * Key prefix (default `lk:`), so several deployments or test runs can share a server. On
   * a Cluster it is made a hash tag (`{lk:}`) unless it has one: every latchkey key of a
   * deployment lives in one slot, so each script's keys are on one node.
   */
  prefix?: string;
  /**
   * How many replicas must hold a write that must outlive a failover (a session created or
   * ended, a refresh token rotated, a user disabled, roles, the change feed) before it is
   * answered: 1 by default with Sentinel or Cluster, 0 with one server. See `client.ts`.
   */
  waitForReplicas?: number;
  /**
   * Told of connection errors (Redis down, a reconnect failing), at most one call per
   * client every 10 s. Without a listener ioredis prints `[ioredis] Unhandled error event`
   * lines to stderr, outside the JSON log; the server passes its logger's `warn`.
   */
  onError?: (error: Error, client: "commands" | "subscriber" | "writes") => void;
}

/**
 * @example
 * const stores = await openRedisStores({
 *   url: "redis://127.0.0.1:6379",
 *   base: await openPostgresStores({ url: "postgres://localhost/app" }),
 * });
 */
export async function openRedisStores(options: RedisOptions): Promise<Stores> {
  let topology: ReturnType<typeof parseRedisUrl>;
  try {
    topology = parseRedisUrl(options.url);
  } catch (error) {
    throw new TypeError(`openRedisStores: the url ${(error as Error).message}`);
  }
  const replicas = options.waitForReplicas ?? (topology.kind === "standalone" ? 0 : 1);
  if (!Number.isInteger(replicas) || replicas < 0) {
    throw new TypeError("openRedisStores: waitForReplicas must be a whole number, 0 or more");
  }
  const prefix = topology.kind === "cluster" ? clusterPrefix(options.prefix ?? "lk:") : (options.prefix ?? "lk:");
  const redis = connect(topology, { autoPipelining: true });
  const subscriber = connect(topology, { autoPipelining: false });
  const writer = replicas > 0 ? connect(topology, { autoPipelining: true, resend: false }) : redis;
  const clients = [...new Set([redis, subscriber, writer])];
  reportErrors(redis, "commands", options.onError);
  reportErrors(subscriber, "subscriber", options.onError);
  if (writer !== redis) reportErrors(writer, "writes", options.onError);
  try {
    await Promise.all(clients.map(ready));
    await redis.ping();
  } catch (error) {
    for (const client of clients) client.disconnect();
    throw new StoreUnavailableError("redis", { cause: error });
  }
  // A key in latchkey's slot: on a Cluster, what is sent with it reaches the node that
  // holds latchkey's keys (a bare PING would reach any node).
  const anchor = `${prefix}changes:epoch`;
  if (replicas > 0) {
    // Every write that waits would answer 503 after a second: say so at start instead.
    const connected = await connectedReplicas(writer, anchor).catch(() => null);
    if (connected !== null && connected < replicas) {
      for (const client of clients) client.disconnect();
      throw new Error(
        `openRedisStores: writes wait for ${replicas} replica(s) (REDIS_WAIT_REPLICAS, waitForReplicas) but the primary has ${connected} connected: add replicas, or set it to ${connected}`,
      );
    }
  }
  const link = replicatedLink(redis, writer, { replicas, anchor });
  const { base } = options;
  let closing: Promise<void> | undefined;
  const guard = <T extends object>(store: T): T => guardStore("redis", store);
  const sessions = guard(sessionStore(link, prefix, base));
  const markers = guard({
    disable: (userId: string, at: number) =>
      link.commit(async (w) => {
        const marker = disabledMarker(prefix, userId);
        await w.eval(lua.DISABLE_USER, 1, marker, prefix, compactUserId(userId), at, `${prefix}changes`);
      }),
    clear: (userId: string) =>
      link.commit(async (w) => void (await w.del(disabledMarker(prefix, userId), disableEndedKey(prefix, userId)))),
  });
  const { copyRoles } = guard({ copyRoles: rolesCopier(link, prefix, base) });
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
        // Enabled, or still enabled (refused): no mark may stay to refuse their logins. A
        // refusal here lost a race with another admin's disable after the script ran: the
        // sessions it ended stay ended, uncounted and with no reason told.
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
    refreshTokens: guard(refreshTokenStore(link, prefix)),
    counters: guard(counterStore(redis, prefix)),
    changes: guard(changeFeed(link, subscriber, prefix)),
    ping: async () => {
      await base.ping();
      await guard({ ping: () => redis.exists(anchor) }).ping();
    },
    // Closes the durable stores too (once, however often it is called).
    close: () => {
      closing ??= (async () => {
        subscriber.disconnect();
        if (writer !== redis) await writer.quit().catch(() => writer.disconnect());
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
  client: RedisClient,
  name: "commands" | "subscriber" | "writes",
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

/** How many replicas the primary holding `anchor` has connected now. */
async function connectedReplicas(client: RedisClient, anchor: string): Promise<number> {
  const replies = await client.pipeline().exists(anchor).info("replication").exec();
  const [error, info] = replies?.[1] ?? [new Error("no reply to INFO")];
  if (error) throw error;
  return Number(/^connected_slaves:(\d+)/m.exec(String(info))?.[1] ?? 0);
}

/** Resolves when the client is connected, or fails after two seconds. */
function ready(client: RedisClient): Promise<void> {
  if (client.status === "ready") return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("Redis did not answer within 2 s")), 2000);
    client.once("ready", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
