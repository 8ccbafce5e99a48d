/**
 * A connection that drops while latchkey migrates (the server restarted, a balancer cut it)
 * is the store being unavailable, worth a retry, never a "migration failed" that reads as a
 * broken migration; a migration that fails with its connection intact stays that failure
 * (postgres-shared-database.test.ts).
 */
import { randomBytes } from "node:crypto";
import pg from "pg";
import { expect, it, vi } from "vitest";
import { StoreUnavailableError } from "../../packages/latchkey/src/core/errors.js";
import { migratePostgres, openPostgresStores } from "../../packages/latchkey/src/stores/postgres/index.js";
import { freshSchema, POSTGRES_URL, postgresAvailable } from "../helpers/postgres.js";
import { describeWith } from "../helpers/services.js";
import { startTcpProxy } from "../helpers/tcp-proxy.js";

/**
 * Opens the stores on `url` while `admin` holds latchkey's migration table (in `schema`),
 * so the migrator waits on it mid-run; `drop` then ends that connection. What the open
 * failed with.
 */
async function openDroppedMidMigration(
  url: string,
  schema: string,
  admin: pg.Client,
  drop: (pid: number) => Promise<void>,
): Promise<unknown> {
  const application = new URL(url).searchParams.get("application_name");
  await admin.query("begin");
  await admin.query(`lock table ${schema}.latchkey_migration in access exclusive mode`);
  try {
    const opening = openPostgresStores({ url, max: 1 }).catch((error: unknown) => error);
    const pid = await vi.waitFor(
      async () => {
        // Statistics are a snapshot per transaction, and admin is in one: take a new one.
        await admin.query("select pg_stat_clear_snapshot()");
        const { rows } = await admin.query(
          "select pid from pg_stat_activity where application_name = $1 and wait_event_type = 'Lock'",
          [application],
        );
        if (!rows[0]) throw new Error("the migrator is not waiting yet");
        return rows[0].pid as number;
      },
      { timeout: 4000, interval: 20 },
    );
    await drop(pid);
    return await opening;
  } finally {
    await admin.query("rollback");
  }
}

describeWith("PostgreSQL", postgresAvailable)("a connection dropped while latchkey migrates", () => {
  it("is StoreUnavailableError, whether the server ends it or the network cuts it, and a retry then works", async () => {
    const schema = await freshSchema();
    const admin = new pg.Client({ connectionString: POSTGRES_URL });
    await admin.connect();
    const proxy = await startTcpProxy("127.0.0.1", Number(new URL(POSTGRES_URL).port || 5432));
    try {
      // Migrated already: the migrator reads its history, where the lock holds it.
      await migratePostgres(schema.url);
      const name = /search_path=(\w+)/.exec(decodeURIComponent(schema.url))?.[1] ?? "";
      const direct = new URL(schema.url);
      direct.searchParams.set("application_name", `lkdrop_${randomBytes(4).toString("hex")}`);
      const ended = await openDroppedMidMigration(direct.toString(), name, admin, async (pid) => {
        await admin.query("select pg_terminate_backend($1)", [pid]);
      });
      expect(ended).toBeInstanceOf(StoreUnavailableError);

      const proxied = new URL(direct);
      proxied.host = `127.0.0.1:${proxy.port}`;
      const cut = await openDroppedMidMigration(proxied.toString(), name, admin, async () => proxy.cut());
      expect(cut).toBeInstanceOf(StoreUnavailableError);

      proxy.restore();
      const retried = await openPostgresStores({ url: proxied.toString(), max: 1 });
      await retried.close();
    } finally {
      await proxy.close();
      await admin.end();
      await schema.drop();
    }
  });
});
