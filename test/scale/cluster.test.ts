/**
 * Three latchkey processes on PostgreSQL + Redis behind nginx (round-robin, no affinity):
 * everything the contract promises holds across instances.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { type Cluster, NGINX, startCluster } from "../helpers/cluster.js";
import { HttpClient } from "../helpers/http-client.js";
import { freshSchema, postgresAvailable } from "../helpers/postgres.js";
import { runCli, within } from "../helpers/processes.js";
import { freshPrefix, REDIS_URL, redisAvailable } from "../helpers/redis.js";
import { describeWith } from "../helpers/services.js";

const PASSWORD = "correct horse battery staple";
const available = postgresAvailable && redisAvailable && NGINX !== null;

for (const strategy of ["session", "jwt", "hybrid"] as const) {
  describeWith("PostgreSQL, Redis and nginx", available)(`3 instances behind nginx, AUTH_STRATEGY=${strategy}`, () => {
    let cluster: Cluster;
    let env: Record<string, string>;
    let dropSchema: () => Promise<void>;
    let dropPrefix: () => Promise<void>;
    let n = 0;
    const user = () => `c${strategy}${process.pid % 1000}x${++n}`;

    beforeAll(async () => {
      const schema = await freshSchema();
      const { prefix, drop } = freshPrefix();
      dropSchema = schema.drop;
      dropPrefix = drop;
      env = {
        DATABASE_URL: schema.url,
        REDIS_URL,
        REDIS_KEY_PREFIX: prefix,
        AUTH_STRATEGY: strategy,
        LOG_LEVEL: "info",
      };
      cluster = await startCluster({ instances: 3, env });
    }, 60_000);
    afterAll(async () => {
      await cluster?.stop();
      await dropSchema?.();
      await dropPrefix?.();
    });

    const signedIn = async () => {
      const username = user();
      expect((await runCli(["users", "create", username], env, PASSWORD)).code).toBe(0);
      const browser = new HttpClient(cluster.origin);
      expect((await browser.login(cluster.origin, username, PASSWORD)).status).toBe(200);
      return { browser, username };
    };
    const everyInstance = async (check: (base: string) => Promise<boolean>) => {
      for (let i = 0; i < cluster.instances.length; i++) if (!(await check(cluster.direct(i)))) return false;
      return true;
    };
    const requestsSeen = () => cluster.instances.map((s) => (s.output().match(/"incoming request"/g) ?? []).length);

    it("a login works on every instance: 50 requests spread over all of them succeed", async () => {
      const { browser } = await signedIn();
      const before = requestsSeen();
      expect((await browser.request(cluster.origin, "POST", "/api/todos", { title: "shared" })).status).toBe(201);
      const statuses: number[] = [];
      for (let i = 0; i < 50; i++) statuses.push((await browser.request(cluster.origin, "GET", "/api/todos")).status);
      expect(statuses.every((s) => s === 200)).toBe(true);
      const after = requestsSeen();
      for (let i = 0; i < 3; i++) expect(after[i] as number, `instance ${i}`).toBeGreaterThan(before[i] as number);
    });

    it("logout-all through one instance: every credential is refused on every instance within a second", async () => {
      const { browser, username } = await signedIn();
      const other = new HttpClient(cluster.origin);
      await other.login(cluster.origin, username, PASSWORD);
      const api = (await (
        await fetch(`${cluster.origin}/auth/token`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ username, password: PASSWORD }),
        })
      ).json()) as { access_token: string; refresh_token: string };
      for (let i = 0; i < 3; i++) {
        expect((await other.request(cluster.direct(i), "GET", "/auth/me")).status).toBe(200);
        const bearer = await fetch(`${cluster.direct(i)}/api/todos`, {
          headers: { authorization: `Bearer ${api.access_token}` },
        });
        expect(bearer.status).toBe(200);
      }
      expect((await browser.request(cluster.direct(0), "POST", "/auth/logout-all")).status).toBe(204);
      const took = await within(1000, () =>
        everyInstance(async (base) => {
          const cookie = await other.request(base, "GET", "/auth/me");
          const bearer = await fetch(`${base}/api/todos`, { headers: { authorization: `Bearer ${api.access_token}` } });
          return cookie.status === 401 && bearer.status === 401;
        }),
      );
      expect(took).toBeLessThanOrEqual(1000);
      const refresh = await fetch(`${cluster.direct(2)}/auth/refresh`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ refresh_token: api.refresh_token }),
      });
      expect(refresh.status).toBe(401);
    });

    it("two refreshes with one token sent to two instances at once rotate it at most once", async () => {
      const { username } = await signedIn();
      const tokens = (await (
        await fetch(`${cluster.origin}/auth/token`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ username, password: PASSWORD }),
        })
      ).json()) as { refresh_token: string };
      for (let round = 0; round < 5; round++) {
        const send = (i: number) =>
          fetch(`${cluster.direct(i)}/auth/refresh`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ refresh_token: tokens.refresh_token }),
          });
        const results = await Promise.all([send(0), send(1)]);
        const ok = results.filter((r) => r.status === 200);
        expect(ok.length).toBeLessThanOrEqual(1);
        if (ok[0]) tokens.refresh_token = ((await ok[0].json()) as { refresh_token: string }).refresh_token;
        else break;
      }
    });

    it("login throttling counts failures across instances", async () => {
      const username = user();
      await runCli(["users", "create", username], env, PASSWORD);
      const statuses: number[] = [];
      for (let i = 0; i < 6; i++) {
        const client = new HttpClient(cluster.origin);
        statuses.push(
          (await client.login(cluster.direct(i % 3), username, i < 5 ? "wrong password!" : PASSWORD)).status,
        );
      }
      expect(statuses).toEqual([401, 401, 401, 401, 401, 429]);
    });

    it("keys rotate: every instance signs with the new key within a second", async () => {
      const username = user();
      await runCli(["users", "create", username], env, PASSWORD);
      const kidFrom = async (base: string) => {
        const response = await fetch(`${base}/auth/token`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ username, password: PASSWORD }),
        });
        const { access_token } = (await response.json()) as { access_token: string };
        return JSON.parse(Buffer.from(access_token.split(".")[0] as string, "base64url").toString()).kid as string;
      };
      const rotated = await runCli(["keys", "rotate"], env);
      expect(rotated.code).toBe(0);
      const kid = /new signing key (\S+);/.exec(rotated.stdout)?.[1];
      await within(1000, () => everyInstance(async (base) => (await kidFrom(base)) === kid));
    });

    it("users disable reaches every instance within a second", async () => {
      const { browser, username } = await signedIn();
      expect((await runCli(["users", "disable", username], env)).code).toBe(0);
      await within(1000, () =>
        everyInstance(async (base) => (await browser.request(base, "GET", "/auth/me")).status === 401),
      );
    });
  });
}
