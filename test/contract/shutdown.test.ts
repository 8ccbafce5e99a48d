/**
 * Shutting down (issue 25 item 13): an app on PostgreSQL + Redis that follows the
 * documented order (docs/library.md, "Shutting down": the server, the adapter,
 * `auth.close()`, then the stores by whoever opened them) exits by itself, nothing left
 * holding the process: no pool, no LISTEN connection, no Redis client, no follower timer.
 * The app is a real child process on the built package (`npm run build:server` first).
 * The same order with a maintenance sweep in progress: `auth.close()` waits for it, so the
 * stores never close under it.
 */
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { expect, it, vi } from "vitest";
import { createFetchHandler } from "../../packages/latchkey/src/adapters/fetch.js";
import { openPostgresStores } from "../../packages/latchkey/src/stores/postgres/index.js";
import { openTestAuth } from "../helpers/auth.js";
import { freshSchema, POSTGRES_URL, postgresAvailable } from "../helpers/postgres.js";
import { startListeningProcess } from "../helpers/processes.js";
import { freshPrefix, REDIS_URL, redisAvailable } from "../helpers/redis.js";
import { describeWith } from "../helpers/services.js";

const APP = fileURLToPath(new URL("./fixtures/shutdown-app.mjs", import.meta.url));

describeWith("PostgreSQL and Redis", postgresAvailable && redisAvailable)("shutting down", () => {
  it("an app on PostgreSQL + Redis that shuts down as documented exits by itself within seconds", async () => {
    const schema = `lk_${randomBytes(6).toString("hex")}`;
    const redis = freshPrefix();
    const app = await startListeningProcess([APP], {
      DATABASE_URL: POSTGRES_URL,
      DATABASE_SCHEMA: schema,
      REDIS_URL,
      REDIS_PREFIX: redis.prefix,
    });
    try {
      // Use every connection the app holds: PostgreSQL (users), Redis (sessions, the feed).
      const json = { "content-type": "application/json", origin: app.origin };
      const credentials = JSON.stringify({ username: "alice", password: "correct horse battery staple" });
      const registered = await fetch(`${app.origin}/auth/register`, {
        method: "POST",
        headers: json,
        body: credentials,
      });
      expect(registered.status).toBe(201);
      const login = await fetch(`${app.origin}/auth/token`, { method: "POST", headers: json, body: credentials });
      expect(login.status).toBe(200);
      const { access_token } = (await login.json()) as { access_token: string };
      const logout = await fetch(`${app.origin}/auth/logout`, {
        method: "POST",
        headers: { authorization: `Bearer ${access_token}`, origin: app.origin },
      });
      expect(logout.status).toBe(204);

      const asked = Date.now();
      const code = await app.stop(); // SIGTERM; the app's handler closes, and does not exit
      const took = Date.now() - asked;
      expect(code).toBe(0);
      expect(app.output()).toContain('{"closed":true}');
      // Generous: it takes well under a second here; a held process would never exit.
      expect(took).toBeLessThan(5000);
    } finally {
      if (app.proc.exitCode === null) app.proc.kill("SIGKILL");
      await redis.drop();
      const client = new pg.Client({ connectionString: POSTGRES_URL });
      await client.connect();
      await client.query(`drop schema if exists ${schema} cascade`);
      await client.end();
    }
  }, 30_000);
});

describeWith("PostgreSQL", postgresAvailable)("shutting down under a maintenance sweep", () => {
  it("auth.close() waits for the sweep in progress, so the stores close after it and it never fails", async () => {
    const schema = await freshSchema();
    const url = new URL(schema.url);
    const application = `lksweep_${randomBytes(4).toString("hex")}`;
    url.searchParams.set("application_name", application);
    const admin = new pg.Client({ connectionString: POSTGRES_URL });
    await admin.connect();
    const stores = await openPostgresStores({ url: url.toString(), max: 2 });
    const auth = await openTestAuth(stores);
    const warnings: string[] = [];
    const log = { warn: (_details: object, message: string) => void warnings.push(message), error() {}, debug() {} };
    const latchkey = createFetchHandler({
      auth,
      publicOrigin: "http://localhost:3000",
      maintenance: { intervalMs: 20 },
      log,
    });
    let closing: Promise<void> | undefined;
    try {
      // Hold the sessions table, so the next sweep's first delete waits on it: a sweep in progress.
      const name = /search_path=(\w+)/.exec(decodeURIComponent(schema.url))?.[1];
      await admin.query("begin");
      await admin.query(`lock table ${name}.sessions in access exclusive mode`);
      await vi.waitFor(
        async () => {
          // Statistics are a snapshot per transaction, and admin is in one: take a new one.
          await admin.query("select pg_stat_clear_snapshot()");
          const { rows } = await admin.query(
            "select 1 from pg_stat_activity where application_name = $1 and wait_event_type = 'Lock'",
            [application],
          );
          expect(rows).toHaveLength(1);
        },
        { timeout: 4000, interval: 20 },
      );
      // The documented order: the adapter (which does not wait), then auth.close().
      latchkey.close();
      let closed = false;
      closing = auth.close().then(() => {
        closed = true;
      });
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(closed).toBe(false);
      await admin.query("rollback");
      await closing;
      await stores.close();
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(warnings).toEqual([]);
    } finally {
      await admin.query("rollback").catch(() => {});
      await closing;
      await stores.close();
      await admin.end();
      await schema.drop();
    }
  }, 20_000);
});
