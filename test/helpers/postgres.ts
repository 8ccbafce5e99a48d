/**
 * A real PostgreSQL for tests: `LATCHKEY_TEST_POSTGRES_URL`, default the local server's
 * `test` database. Each caller gets a fresh schema (through `search_path`), dropped after.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";

export const POSTGRES_URL = process.env.LATCHKEY_TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/test";

/** Whether the server answers (checked once, at load). */
export const postgresAvailable: boolean = await (async () => {
  const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 1500 });
  try {
    await client.connect();
    await client.query("select 1");
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
})();

/** A fresh, empty schema; `url` connects into it. */
export async function freshSchema(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `lk_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: POSTGRES_URL });
  await admin.connect();
  await admin.query(`create schema ${name}`);
  await admin.end();
  const separator = POSTGRES_URL.includes("?") ? "&" : "?";
  return {
    url: `${POSTGRES_URL}${separator}options=${encodeURIComponent(`-c search_path=${name}`)}`,
    async drop() {
      const client = new pg.Client({ connectionString: POSTGRES_URL });
      await client.connect();
      await client.query(`drop schema if exists ${name} cascade`);
      await client.end();
    },
  };
}
