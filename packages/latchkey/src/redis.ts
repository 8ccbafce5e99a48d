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
 *
 * // A primary watched by three Sentinels, or a Cluster:
 * // url: "redis+sentinel://10.0.0.1,10.0.0.2,10.0.0.3/mymaster"
 * // url: "redis+cluster://10.0.0.1:6379,10.0.0.2:6379,10.0.0.3:6379"
 */
export { openRedisStores, type RedisOptions } from "./stores/redis/index.js";
export { parseRedisUrl, type RedisNode, type RedisTopology } from "./stores/redis/topology.js";
