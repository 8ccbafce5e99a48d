/**
 * When a store fails, latchkey refuses rather than guesses (503, never a 200 for a
 * credential it cannot check, never a 500), and recovers by itself. PostgreSQL and Redis
 * are reached through TCP proxies the test cuts and restores; a process is killed with
 * SIGKILL and restarted.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { type Cluster, NGINX, startCluster } from "../helpers/cluster.js";
import { HttpClient } from "../helpers/http-client.js";
import { freshSchema, POSTGRES_URL, postgresAvailable } from "../helpers/postgres.js";
import { runCli, within } from "../helpers/processes.js";
import { freshPrefix, REDIS_URL, redisAvailable } from "../helpers/redis.js";
import { describeWith } from "../helpers/services.js";
import { startTcpProxy, type TcpProxy } from "../helpers/tcp-proxy.js";

const PASSWORD = "correct horse battery staple";

describeWith("PostgreSQL, Redis and nginx", postgresAvailable && redisAvailable && NGINX !== null)(
  "store failures and a killed process",
  () => {
    let cluster: Cluster;
    let env: Record<string, string>;
    let pgProxy: TcpProxy;
    let redisProxy: TcpProxy;
    let cleanup: Array<() => Promise<void>> = [];
    let browser: HttpClient;

    beforeAll(async () => {
      const schema = await freshSchema();
      const { prefix, drop } = freshPrefix();
      const pg = new URL(POSTGRES_URL);
      const redis = new URL(REDIS_URL);
      pgProxy = await startTcpProxy(pg.hostname, Number(pg.port || 5432));
      redisProxy = await startTcpProxy(redis.hostname, Number(redis.port || 6379));
      const proxiedPg = new URL(schema.url);
      proxiedPg.port = String(pgProxy.port);
      const proxiedRedis = new URL(REDIS_URL);
      proxiedRedis.port = String(redisProxy.port);
      // A second's drain on SIGTERM (issue 34): /readyz answers 503 while the instance still serves.
      env = {
        DATABASE_URL: proxiedPg.toString(),
        REDIS_URL: proxiedRedis.toString(),
        REDIS_KEY_PREFIX: prefix,
        SHUTDOWN_DELAY: "1",
      };
      cleanup = [schema.drop, drop, () => pgProxy.close(), () => redisProxy.close()];
      cluster = await startCluster({ instances: 3, env });
      expect((await runCli(["users", "create", "frank"], env, PASSWORD)).code).toBe(0);
      browser = new HttpClient(cluster.origin);
      expect((await browser.login(cluster.origin, "frank", PASSWORD)).status).toBe(200);
      expect((await browser.request(cluster.origin, "POST", "/api/todos", { title: "survives" })).status).toBe(201);
    }, 60_000);
    afterAll(async () => {
      await cluster?.stop();
      for (const step of cleanup) await step().catch(() => {});
    });

    const statusesOf = async (path: string, count: number) => {
      const statuses: number[] = [];
      for (let i = 0; i < count; i++) statuses.push((await browser.request(cluster.origin, "GET", path)).status);
      return statuses;
    };
    const health = () => Promise.all([0, 1, 2].map(async (i) => (await fetch(`${cluster.direct(i)}/healthz`)).status));
    /** Each instance's `/readyz` answer: `ready`, or its reasons joined. */
    const readiness = () =>
      Promise.all(
        [0, 1, 2].map(async (i) => {
          const answer = (await (await fetch(`${cluster.direct(i)}/readyz`)).json()) as {
            status: string;
            reasons?: string[];
          };
          return answer.status === "ready" ? "ready" : (answer.reasons ?? []).join("+");
        }),
      );
    const servesNormally = async () => {
      const [me, todos] = await Promise.all([
        browser.request(cluster.origin, "GET", "/auth/me"),
        browser.request(cluster.origin, "GET", "/api/todos"),
      ]);
      if (me.status !== 200 || todos.status !== 200) return false;
      const { todos: list } = (await todos.json()) as { todos: Array<{ title: string }> };
      return (
        list.some((t) => t.title === "survives") &&
        (await health()).every((s) => s === 200) &&
        (await readiness()).every((r) => r === "ready")
      );
    };

    /**
     * `GET /api/todos` through nginx, one after another, until `allAnswered200` stops it and
     * checks that there were enough and that every one was a 200.
     */
    const trafficThroughNginx = () => {
      const statuses: number[] = [];
      let running = true;
      const loop = (async () => {
        while (running) statuses.push((await browser.request(cluster.origin, "GET", "/api/todos")).status);
      })();
      return {
        async allAnswered200() {
          running = false;
          await loop;
          expect(statuses.length).toBeGreaterThan(20);
          expect(
            statuses.filter((s) => s !== 200),
            statuses.join(","),
          ).toEqual([]);
        },
      };
    };

    it("Redis down: session checks answer 503 (never 200, never 500), /healthz 503; back within 5 s of its return", async () => {
      expect(await servesNormally()).toBe(true);
      redisProxy.cut();
      await new Promise((resolve) => setTimeout(resolve, 300));
      const during = await statusesOf("/auth/me", 20);
      expect(
        during.every((s) => s === 503),
        during.join(","),
      ).toBe(true);
      const login = await new HttpClient(cluster.origin).login(cluster.origin, "frank", PASSWORD);
      expect(login.status).toBe(503);
      expect(await health()).toEqual([503, 503, 503]);
      // Not ready either: a store is out of reach (and, past 5 s, the feed it carries).
      for (const reasons of await readiness()) expect(reasons).toMatch(/^store_unreachable(\+feed_behind)?$/);
      redisProxy.restore();
      const took = await within(5000, servesNormally);
      expect(took).toBeLessThanOrEqual(5000);
    });

    it("PostgreSQL down: what needs it answers 503, never 500; back within 5 s, nothing lost", async () => {
      expect(await servesNormally()).toBe(true);
      pgProxy.cut();
      await new Promise((resolve) => setTimeout(resolve, 300));
      const during = await statusesOf("/api/todos", 20);
      expect(
        during.every((s) => s === 503),
        during.join(","),
      ).toBe(true);
      expect(during).not.toContain(500);
      const register = await new HttpClient(cluster.origin).request(cluster.origin, "POST", "/auth/register", {
        username: "gina",
        password: PASSWORD,
      });
      expect(register.status).toBe(503);
      expect(await health()).toEqual([503, 503, 503]);
      for (const reasons of await readiness()) expect(reasons).toMatch(/^store_unreachable(\+feed_behind)?$/);
      pgProxy.restore();
      await within(5000, servesNormally);
      expect((await browser.request(cluster.origin, "POST", "/api/todos", { title: "after" })).status).toBe(201);
    });

    it("an instance stopped with SIGTERM under traffic: /readyz 503 draining at once while it still serves, nothing lost through nginx", async () => {
      expect(await servesNormally()).toBe(true);
      const traffic = trafficThroughNginx();
      const stopping = cluster.instances[0];
      const exited = new Promise<void>((resolve) => stopping?.proc.once("exit", () => resolve()));
      await new Promise((resolve) => setTimeout(resolve, 200));
      stopping?.proc.kill("SIGTERM");
      await new Promise((resolve) => setTimeout(resolve, 200));
      const draining = await fetch(`${cluster.direct(0)}/readyz`);
      expect(draining.status).toBe(503);
      expect(await draining.json()).toEqual({ status: "not_ready", reasons: ["draining"] });
      // Still serving, directly, during the delay.
      expect((await browser.request(cluster.direct(0), "GET", "/api/todos")).status).toBe(200);
      await exited;
      expect(stopping?.proc.exitCode).toBe(0);
      await new Promise((resolve) => setTimeout(resolve, 300));
      await traffic.allAnswered200();
      await cluster.restart(0);
      await within(5000, servesNormally);
    });

    it("a process killed with SIGKILL mid-traffic: the others carry on, and its restart loses nothing", async () => {
      const traffic = trafficThroughNginx();
      await new Promise((resolve) => setTimeout(resolve, 300));
      cluster.instances[0]?.proc.kill("SIGKILL");
      await new Promise((resolve) => setTimeout(resolve, 700));
      await traffic.allAnswered200();
      await cluster.restart(0);
      const direct = await browser.request(cluster.direct(0), "GET", "/api/todos");
      expect(direct.status).toBe(200);
      const titles = ((await direct.json()) as { todos: Array<{ title: string }> }).todos.map((t) => t.title);
      expect(titles).toEqual(["survives", "after"]);
      expect((await browser.request(cluster.direct(0), "GET", "/auth/me")).status).toBe(200);
    });
  },
);
