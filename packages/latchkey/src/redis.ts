/**
 * `latchkey/redis`: sessions, counters and the change feed in Redis, over a durable store
 * for users and keys (needs `ioredis`).
 *
 * @example
 * import { openPostgresStores } from "latchkey/postgres";
 * import { openRedisStores } from "latchkey/redis";
 *
 * const base = await openPostgresStores({ url: "postgres://localhost/app" });
 * const stores = await openRedisStores({ url: "redis://localhost:6379", base });
 */
export { openRedisStores, type RedisOptions } from "./stores/redis/index.js";
