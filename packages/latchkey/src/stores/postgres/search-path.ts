/**
 * latchkey's schema in a shared database (`PostgresOptions.schema`): every connection of
 * the pool starts with `search_path` set to it, so latchkey's unqualified tables, its
 * prepared statements and its change feed's lock all land there, beside the host's tables
 * in theirs, whatever they are called.
 */
import { type Kysely, sql } from "kysely";
import { LatchkeySetupError, StoreUnavailableError } from "../../core/errors.js";

/** A schema name that needs no quoting, and is not PostgreSQL's own (`pg_`). */
const SCHEMA = /^(?!pg_)[a-z_][a-z0-9_]{0,62}$/;

/**
 * `schema` checked: a `TypeError` naming the rule when it is not a plain lower-case name.
 *
 * @example
 * checkSchema("latchkey"); // "latchkey"
 */
export function checkSchema(schema: string | undefined): string | undefined {
  if (schema === undefined || (typeof schema === "string" && SCHEMA.test(schema))) return schema;
  throw new TypeError(
    `latchkey: schema ${JSON.stringify(schema)} must be 1 to 63 lower-case letters, digits and _, not starting with a digit or pg_`,
  );
}

/**
 * The connection string with `search_path` set to `schema` at connection start-up (the
 * `options` parameter, after any the URL has: the last setting wins). Without `schema`, the
 * URL as it is.
 *
 * @example
 * inSchema("postgres://db/app", "latchkey"); // postgres://db/app?options=-c+search_path%3Dlatchkey
 */
export function inSchema(url: string, schema: string | undefined): string {
  if (schema === undefined) return url;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TypeError("latchkey: `url` must be a postgres:// URL when `schema` is given");
  }
  const options = [parsed.searchParams.get("options"), `-c search_path=${schema}`].filter(Boolean).join(" ");
  parsed.searchParams.set("options", options);
  return parsed.toString();
}

/**
 * Creates `schema` when it does not exist yet. A role that may not create schemas is told
 * to have it created; an existing schema needs no such right (checked before asking).
 *
 * @example
 * await ensureSchema(db, "latchkey");
 */
export async function ensureSchema(db: Kysely<unknown>, schema: string): Promise<void> {
  try {
    const { rows } = await sql<{ found: boolean }>`
      select exists (select 1 from pg_namespace where nspname = ${schema}) as found`.execute(db);
    if (rows[0]?.found) return;
    await db.schema.createSchema(schema).ifNotExists().execute();
  } catch (error) {
    if ((error as { code?: unknown }).code === "42501") {
      throw new LatchkeySetupError(
        `the database role may not create schema "${schema}". Create it once as its owner (CREATE SCHEMA ${schema} AUTHORIZATION <role>), or grant the role CREATE on the database.`,
      );
    }
    throw new StoreUnavailableError("postgres", { cause: error });
  }
}
