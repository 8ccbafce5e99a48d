/**
 * Opens the stores the configuration names: SQLite (the embedded default) or PostgreSQL
 * for durable data.
 */
import type { Stores } from "../core/ports.js";
import { migratePostgres, openPostgresStores } from "../stores/postgres/index.js";
import { migrateSqlite, openSqliteStores } from "../stores/sqlite/index.js";
import type { Config } from "./config.js";

/**
 * @example
 * const stores = await openConfiguredStores(loadConfig(process.env));
 */
export async function openConfiguredStores(config: Config): Promise<Stores> {
  const { database } = config;
  return database.kind === "postgres"
    ? openPostgresStores({ url: database.url })
    : openSqliteStores({ path: database.path });
}

/** Applies pending migrations to the configured database. */
export function migrateConfigured(config: Config): Promise<string[]> {
  const { database } = config;
  return database.kind === "postgres" ? migratePostgres(database.url) : migrateSqlite(database.path);
}
