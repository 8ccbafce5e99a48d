/**
 * Opens the stores the configuration names: SQLite (the embedded default) or PostgreSQL
 * for durable data, with Redis over them for the hot state when `REDIS_URL` is set.
 */

import type { Stores } from "latchkey";
import type { Logger } from "pino";
import type { Config } from "./config.js";

/**
 * A store module, loaded when the configuration names it: each needs its driver (an
 * optional peer dependency of the package), so a SQLite server never loads `pg`, and a
 * missing driver is a message saying what to install, not a stack trace.
 */
async function load<T>(module: () => Promise<T>, driver: string, use: string): Promise<T> {
  try {
    return await module();
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === "ERR_MODULE_NOT_FOUND" && String((error as Error).message).includes(`'${driver}'`)) {
      throw new Error(`${use} needs the ${driver} package: npm install ${driver}`, { cause: error });
    }
    throw error;
  }
}

const postgres = () => load(() => import("latchkey/postgres"), "pg", "A postgres:// DATABASE_URL");
const sqlite = () => load(() => import("latchkey/sqlite"), "better-sqlite3", "A sqlite: DATABASE_URL");
const redis = () => load(() => import("latchkey/redis"), "ioredis", "REDIS_URL");

/**
 * @example
 * const stores = await openConfiguredStores(loadConfig(process.env));
 */
export async function openConfiguredStores(config: Config, log?: Pick<Logger, "warn">): Promise<Stores> {
  const { database } = config;
  const durable =
    database.kind === "postgres"
      ? await (await postgres()).openPostgresStores({ url: database.url, schema: database.schema })
      : await (await sqlite()).openSqliteStores({ path: database.path });
  if (!config.redisUrl) return durable;
  try {
    return await (await redis()).openRedisStores({
      url: config.redisUrl,
      base: durable,
      prefix: config.redisKeyPrefix,
      ...(config.redisWaitReplicas !== undefined && { waitForReplicas: config.redisWaitReplicas }),
      // Every line is the JSON log's, never ioredis's own stderr text.
      onError: (error, client) => log?.warn({ err: error, client }, "redis connection error"),
    });
  } catch (error) {
    await durable.close();
    throw error;
  }
}

/** Applies pending migrations to the configured database. */
export async function migrateConfigured(config: Config): Promise<string[]> {
  const { database } = config;
  return database.kind === "postgres"
    ? (await postgres()).migratePostgres(database.url, { schema: database.schema })
    : (await sqlite()).migrateSqlite(database.path);
}
