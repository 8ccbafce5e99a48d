/**
 * Shutting down (issue 25 item 13): an app on PostgreSQL + Redis that follows the
 * documented order (docs/library.md, "Shutting down": the server, the adapter,
 * `auth.close()`, then the stores by whoever opened them) exits by itself, nothing left
 * holding the process: no pool, no LISTEN connection, no Redis client, no follower timer.
 * The app is a real child process on the built package (`npm run build:server` first).
 */
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { expect, it } from "vitest";
import { POSTGRES_URL, postgresAvailable } from "../helpers/postgres.js";
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
