/**
 * `latchkey/postgres`: the PostgreSQL store (needs `pg`).
 *
 * @example
 * import { openPostgresStores } from "latchkey/postgres";
 *
 * const stores = await openPostgresStores({ url: "postgres://localhost/app" });
 */
export { migratePostgres, openPostgresStores, type PostgresOptions } from "./stores/postgres/index.js";
