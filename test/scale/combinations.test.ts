/**
 * The supported store combinations, each with a real server process and the CLI:
 * SQLite alone (the default), PostgreSQL alone, PostgreSQL + Redis, SQLite + Redis.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { HttpClient } from "../helpers/http-client.js";
import { freshSchema, postgresAvailable } from "../helpers/postgres.js";
import { type RunningServer, runCli, startServerProcess, within } from "../helpers/processes.js";
import { freshPrefix, REDIS_URL, redisAvailable } from "../helpers/redis.js";
import { describeWith } from "../helpers/services.js";

const PASSWORD = "correct horse battery staple";
const ORIGIN = "http://localhost:8080";

const COMBINATIONS = [
  { name: "SQLite alone", postgres: false, redis: false },
  { name: "PostgreSQL alone", postgres: true, redis: false },
  { name: "PostgreSQL + Redis", postgres: true, redis: true },
  { name: "SQLite + Redis", postgres: false, redis: true },
] as const;

for (const combo of COMBINATIONS) {
  const needs = [combo.postgres && "PostgreSQL", combo.redis && "Redis"].filter(Boolean).join(" and ");
  const available = (!combo.postgres || postgresAvailable) && (!combo.redis || redisAvailable);
  describeWith(needs, available)(`stores: ${combo.name}`, () => {
    let env: Record<string, string>;
    let servers: RunningServer[] = [];
    const cleanup: Array<() => Promise<void> | void> = [];

    beforeAll(async () => {
      const dir = mkdtempSync(join(tmpdir(), "latchkey-combo-"));
      cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
      // Both processes are one deployment: one public origin (as behind a load balancer).
      env = { DATABASE_URL: `sqlite:${join(dir, "db.sqlite")}`, AUTH_STRATEGY: "hybrid", PUBLIC_ORIGIN: ORIGIN };
      if (combo.postgres) {
        const schema = await freshSchema();
        cleanup.push(schema.drop);
        env.DATABASE_URL = schema.url;
      }
      if (combo.redis) {
        const { prefix, drop } = freshPrefix();
        cleanup.push(drop);
        Object.assign(env, { REDIS_URL, REDIS_KEY_PREFIX: prefix });
      }
      // Two processes on the same stores, as two instances would be.
      servers = [await startServerProcess(env), await startServerProcess(env)];
    }, 30_000);
    afterAll(async () => {
      for (const server of servers) await server.stop();
      for (const step of cleanup.reverse()) await step();
    });

    it("serves accounts, sessions, to-dos and tokens across two processes and a restart", async () => {
      expect((await runCli(["users", "create", "hana"], env, PASSWORD)).code).toBe(0);
      const [one, two] = servers as [RunningServer, RunningServer];
      const browser = new HttpClient(ORIGIN);
      expect((await browser.login(one.origin, "hana", PASSWORD)).status).toBe(200);
      expect((await browser.request(one.origin, "POST", "/api/todos", { title: "kept" })).status).toBe(201);
      // The second process accepts the same session.
      const elsewhere = new HttpClient(ORIGIN);
      for (const [k, v] of browser.cookies) elsewhere.cookies.set(k, v);
      expect((await elsewhere.request(two.origin, "GET", "/api/todos")).status).toBe(200);

      const tokens = (await (
        await fetch(`${two.origin}/auth/token`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ username: "hana", password: PASSWORD }),
        })
      ).json()) as { access_token: string; refresh_token: string };
      const refreshed = await fetch(`${one.origin}/auth/refresh`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ refresh_token: tokens.refresh_token }),
      });
      expect(refreshed.status).toBe(200);

      expect((await browser.request(one.origin, "POST", "/auth/logout-all")).status).toBe(204);
      await within(1000, async () => {
        const cookie = await elsewhere.request(two.origin, "GET", "/auth/me");
        const bearer = await fetch(`${two.origin}/auth/me`, {
          headers: { authorization: `Bearer ${tokens.access_token}` },
        });
        return cookie.status === 401 && bearer.status === 401;
      });

      await one.stop();
      servers[0] = await startServerProcess(env);
      const restarted = (servers[0] as RunningServer).origin;
      const again = new HttpClient(ORIGIN);
      expect((await again.login(restarted, "hana", PASSWORD)).status).toBe(200);
      const todos = (await (await again.request(restarted, "GET", "/api/todos")).json()) as { todos: unknown[] };
      expect(todos.todos).toHaveLength(1);
    });
  });
}
