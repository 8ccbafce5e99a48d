/**
 * `latchkey/sqlite`: the embedded store (needs `better-sqlite3`).
 *
 * @example
 * import { openSqliteStores } from "latchkey/sqlite";
 *
 * const stores = await openSqliteStores({ path: "./data/latchkey.db" });
 */
export { migrateSqlite, openSqliteStores, type SqliteOptions } from "./stores/sqlite/index.js";
