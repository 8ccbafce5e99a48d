/**
 * Opens the stores the configuration names: SQLite (the embedded default) or PostgreSQL
 * for durable data, with Redis over them for the hot state when `REDIS_URL` is set.
 */
import type { Logger } from "pino";
import type { Stores } from "../core/ports.js";
import { migratePostgres, openPostgresStores } from "../stores/postgres/index.js";
import { openRedisStores } from "../stores/redis/index.js";
import { migrateSqlite, openSqliteStores } from "../stores/sqlite/index.js";
import type { Config } from "./config.js";

/**
 * @example
 * const stores = await openConfiguredStores(loadConfig(process.env));
 */
export async function openConfiguredStores(config: Config, log?: Pick<Logger, "warn">): Promise<Stores> {
  const { database } = config;
  const durable =
    database.kind === "postgres"
      ? await openPostgresStores({ url: database.url })
      : await openSqliteStores({ path: database.path });
  if (!config.redisUrl) return durable;
  try {
    return await openRedisStores({
      url: config.redisUrl,
      base: durable,
      prefix: config.redisKeyPrefix,
      // Every line is the JSON log's, never ioredis's own stderr text.
      onError: (error, client) => log?.warn({ err: error, client }, "redis connection error"),
    });
  } catch (error) {
    await durable.close();
    throw error;
  }
}

/** Applies pending migrations to the configured database. */
export function migrateConfigured(config: Config): Promise<string[]> {
  const { database } = config;
  return database.kind === "postgres" ? migratePostgres(database.url) : migrateSqlite(database.path);
}
