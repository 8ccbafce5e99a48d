/**
 * Kysely's migrator, for latchkey's own migrations and for a host's (`DatabaseHandle`).
 */
import { type Kysely, type Migration, type MigrationResult, Migrator, sql } from "kysely";
import { StoreUnavailableError } from "../../core/errors.js";

const NAMESPACE = /^[a-z][a-z0-9_]{0,39}$/;

/**
 * Applies the pending `migrations`; returns the names applied. `namespace` names the
 * tables that track them (`<namespace>_migration`, `<namespace>_migration_lock`);
 * without it, latchkey's own (Kysely's default names, as every existing database has).
 *
 * @example
 * await runMigrations(db, "sqlite", MIGRATIONS);
 */
export async function runMigrations(
  db: Kysely<unknown>,
  dialect: "sqlite" | "postgres",
  migrations: Record<string, Migration>,
  namespace?: string,
): Promise<string[]> {
  if (namespace !== undefined && !NAMESPACE.test(namespace)) {
    throw new TypeError(`latchkey: migration namespace "${namespace}" must be lower-case letters, digits and _`);
  }
  // PostgreSQL: Kysely looks for its migration tables in every schema unless told which:
  // with latchkey's tables in another schema of the same database (another deployment, or
  // `public`), it would take theirs for ours and fail. Ours are in the connection's schema.
  const schema =
    dialect === "postgres"
      ? (await sql<{ schema: string }>`select current_schema() as schema`.execute(db)).rows[0]?.schema
      : undefined;
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
    ...(schema !== undefined && { migrationTableSchema: schema }),
    ...(namespace !== undefined && {
      migrationTableName: `${namespace}_migration`,
      migrationLockTableName: `${namespace}_migration_lock`,
    }),
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw new StoreUnavailableError(dialect, { cause: error });
  return (results ?? []).filter((r: MigrationResult) => r.status === "Success").map((r) => r.migrationName);
}
