/**
 * Logout that reaches every service (issue 15): a Node service verifying through
 * `latchkey/verify` in front of a latchkey deployment behind nginx (three instances on
 * PostgreSQL + Redis and on PostgreSQL alone; one on SQLite and on SQLite + Redis). For
 * each way a session ends, done on one particular instance (bypassing nginx) or by the
 * CLI, the service refuses the session's token within one second; a key rotation by the
 * CLI is followed.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createVerifier, type Verifier, VerifyError } from "../../packages/verify/src/index.js";
import { type Cluster, NGINX, startCluster } from "../helpers/cluster.js";
import { freshSchema, postgresAvailable } from "../helpers/postgres.js";
import { runCli, within } from "../helpers/processes.js";
import { freshPrefix, REDIS_URL, redisAvailable } from "../helpers/redis.js";
import { describeWith } from "../helpers/services.js";
import { basic, subscribe } from "../helpers/sse.js";
import { startTcpProxy, type TcpProxy } from "../helpers/tcp-proxy.js";

const PASSWORD = "correct horse battery staple";

const COMBINATIONS = [
  { name: "PostgreSQL + Redis, 3 instances", postgres: true, redis: true, instances: 3 },
  { name: "PostgreSQL, 3 instances", postgres: true, redis: false, instances: 3 },
  { name: "SQLite + Redis, 1 instance", postgres: false, redis: true, instances: 1 },
  { name: "SQLite, 1 instance", postgres: false, redis: false, instances: 1 },
] as const;

for (const combo of COMBINATIONS) {
  const needs = ["nginx", combo.postgres && "PostgreSQL", combo.redis && "Redis"].filter(Boolean).join(", ");
  const available = NGINX !== null && (!combo.postgres || postgresAvailable) && (!combo.redis || redisAvailable);

  describeWith(needs, available)(`a service behind latchkey: ${combo.name}`, () => {
    let cluster: Cluster;
    let env: Record<string, string>;
    let verifier: Verifier;
    let credentials: { clientId: string; clientSecret: string };
    let feedProxy: TcpProxy | undefined;
    const cleanup: (() => Promise<void> | void)[] = [];
    let n = 0;

    beforeAll(async () => {
      const dir = mkdtempSync(join(tmpdir(), "latchkey-services-"));
      cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
      // A short reuse leeway, so the reuse case needs no ten-second wait.
      env = { DATABASE_URL: `sqlite:${join(dir, "db.sqlite")}`, LOG_LEVEL: "info", REFRESH_REUSE_LEEWAY: "1" };
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
      // Instance 0 reaches the store that holds the change feed (Redis when there is one,
      // else PostgreSQL) through a proxy this test can cut, as a network partition would.
      const feedUrl = combo.redis ? env.REDIS_URL : combo.postgres ? env.DATABASE_URL : undefined;
      if (feedUrl) {
        const target = new URL(feedUrl.replace(/^postgres:/, "http:").replace(/^redis:/, "http:"));
        feedProxy = await startTcpProxy(target.hostname, Number(target.port));
        cleanup.push(() => feedProxy?.close());
      }
      const viaProxy = (url: string) => url.replace(/127\.0\.0\.1:\d+/, `127.0.0.1:${feedProxy?.port}`);
      cluster = await startCluster({
        instances: combo.instances,
        env,
        envFor: (i): Record<string, string> =>
          i === 0 && feedProxy
            ? combo.redis
              ? { REDIS_URL: viaProxy(env.REDIS_URL as string) }
              : { DATABASE_URL: viaProxy(env.DATABASE_URL as string) }
            : {},
      });
      const created = await runCli(["services", "create", "reports", "--json"], {
        ...env,
        PUBLIC_ORIGIN: cluster.origin,
      });
      expect(created.code).toBe(0);
      const { client_id, client_secret } = JSON.parse(created.stdout) as { client_id: string; client_secret: string };
      credentials = { clientId: client_id, clientSecret: client_secret };
      verifier = createVerifier({
        issuer: cluster.origin,
        credentials,
        pollIntervalMs: 200,
      });
      await verifier.ready();
    }, 90_000);
    afterAll(async () => {
      verifier?.close();
      await cluster?.stop();
      for (const step of cleanup.reverse()) await step();
    });

    const instance = (i: number) => cluster.direct(i % combo.instances);
    const post = (base: string, path: string, body: unknown, token?: string) =>
      fetch(`${base}${path}`, {
        method: "POST",
        headers: {
          origin: cluster.origin,
          ...(body !== undefined && { "content-type": "application/json" }),
          ...(token && { authorization: `Bearer ${token}` }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    /** A new user signed in as an API client (through nginx): its name and tokens. */
    const signIn = async () => {
      const username = `svc${process.pid % 1000}x${++n}`;
      expect((await post(cluster.origin, "/auth/register", { username, password: PASSWORD })).status).toBe(201);
      const tokens = await (await post(cluster.origin, "/auth/token", { username, password: PASSWORD })).json();
      return { username, ...(tokens as { access_token: string; refresh_token: string }) };
    };
    const another = async (username: string) =>
      (
        (await (await post(cluster.origin, "/auth/token", { username, password: PASSWORD })).json()) as {
          access_token: string;
        }
      ).access_token;
    /** Whether the service takes the token; a refusal other than 401 (the feed down: 503) is an error. */
    const accepted = (token: string): Promise<boolean> =>
      verifier.verify(token).then(
        () => true,
        (error: unknown) => {
          if (error instanceof VerifyError && error.statusCode === 401) return false;
          throw error;
        },
      );
    /** The service refuses `token` within a second of now. */
    const refusedWithinASecond = async (token: string) => {
      const took = await within(1000, async () => !(await accepted(token)));
      expect(took).toBeLessThan(1000);
    };
    const sidOf = (token: string) =>
      JSON.parse(Buffer.from(token.split(".")[1] as string, "base64url").toString()).sid as string;

    it("refuses a token within a second of its session ending, however and wherever it ended", async () => {
      // logout, on instance 0
      const a = await signIn();
      expect(await accepted(a.access_token)).toBe(true);
      await post(instance(0), "/auth/logout", undefined, a.access_token);
      await refusedWithinASecond(a.access_token);

      // logout-all, on instance 1: every session of the user
      const b = await signIn();
      const b2 = await another(b.username);
      await post(instance(1), "/auth/logout-all", undefined, b.access_token);
      await refusedWithinASecond(b.access_token);
      await refusedWithinASecond(b2);

      // one device revoked, on instance 2
      const c = await signIn();
      const c2 = await another(c.username);
      const revoke = await fetch(`${instance(2)}/auth/sessions/${sidOf(c2)}`, {
        method: "DELETE",
        headers: { origin: cluster.origin, authorization: `Bearer ${c.access_token}` },
      });
      expect(revoke.status).toBe(204);
      await refusedWithinASecond(c2);
      expect(await accepted(c.access_token)).toBe(true);

      // a password change, on instance 0: the other sessions end
      const d = await signIn();
      const d2 = await another(d.username);
      await post(
        instance(0),
        "/auth/password",
        { currentPassword: PASSWORD, newPassword: `${PASSWORD} anew` },
        d.access_token,
      );
      await refusedWithinASecond(d2);

      // the account disabled by the CLI
      const e = await signIn();
      expect((await runCli(["users", "disable", e.username], { ...env, PUBLIC_ORIGIN: cluster.origin })).code).toBe(0);
      await refusedWithinASecond(e.access_token);

      // the account deleted, on instance 1
      const f = await signIn();
      const deleted = await fetch(`${instance(1)}/auth/account`, {
        method: "DELETE",
        headers: {
          origin: cluster.origin,
          "content-type": "application/json",
          authorization: `Bearer ${f.access_token}`,
        },
        body: JSON.stringify({ password: PASSWORD }),
      });
      expect(deleted.status).toBe(204);
      await refusedWithinASecond(f.access_token);

      // a refresh token reused (past the leeway), on instance 2
      const g = await signIn();
      expect((await post(instance(2), "/auth/refresh", { refresh_token: g.refresh_token })).status).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 1100)); // past REFRESH_REUSE_LEEWAY (1 s here)
      expect((await post(instance(0), "/auth/refresh", { refresh_token: g.refresh_token })).status).toBe(401);
      await refusedWithinASecond(g.access_token);
    }, 60_000);

    it("follows a key rotation made by the CLI: old tokens and new ones pass", async () => {
      const kidOf = (jwt: string) => JSON.parse(Buffer.from(jwt.split(".")[0] as string, "base64url").toString()).kid;
      const before = (await signIn()).access_token;
      expect((await runCli(["keys", "rotate"], { ...env, PUBLIC_ORIGIN: cluster.origin })).code).toBe(0);
      let after = before;
      await within(3000, async () => {
        after = (await signIn()).access_token;
        return kidOf(after) !== kidOf(before);
      });
      await within(3000, () => accepted(after));
      expect(await accepted(before)).toBe(true);
    }, 60_000);

    it("high 2: every one of 192 session ends, 96 at once over the instances, reaches the stream, a 20 ms poller and the verifier", async () => {
      const users = await Promise.all([0, 1, 2, 3].map(() => signIn()));
      // 192 sessions (a login each), then their ends 96 at once, each on the next instance.
      const sessions: { access_token: string; refresh_token: string }[] = [];
      for (let i = 0; i < 192; i++) {
        const user = users[i % users.length] as { username: string };
        const grant = await post(cluster.origin, "/auth/token", { username: user.username, password: PASSWORD });
        sessions.push((await grant.json()) as { access_token: string; refresh_token: string });
      }
      const wanted = new Set(sessions.map((s) => sidOf(s.access_token)));
      const authorization = basic(credentials.clientId, credentials.clientSecret);
      const stream = await subscribe(`${cluster.origin}/auth/revocations`, authorization);
      cleanup.push(() => stream.close());
      // The cursor poller starts from now: what is retained already is not its business.
      let cursor = (
        (await (await fetch(`${cluster.origin}/auth/revocations`, { headers: { authorization } })).json()) as {
          cursor: string;
        }
      ).cursor;
      const polled = new Set<string>();
      let polling = true;
      const poller = (async () => {
        while (polling) {
          const page = (await (
            await fetch(`${cluster.origin}/auth/revocations?since=${encodeURIComponent(cursor)}`, {
              headers: { authorization },
            })
          ).json()) as { cursor: string; entries: { type: string; sid?: string }[] };
          for (const entry of page.entries) if (entry.sid) polled.add(entry.sid);
          cursor = page.cursor;
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      })();
      for (let i = 0; i < sessions.length; i += 96) {
        await Promise.all(
          sessions.slice(i, i + 96).map(async (session, j) => {
            const ended = await post(instance(j), "/auth/revoke", { token: session.refresh_token });
            expect(ended.status).toBe(200);
          }),
        );
      }
      const streamed = () =>
        new Set(stream.events.filter((e) => e.event === "revocation").map((e) => JSON.parse(e.data).sid as string));
      await within(5000, async () => [...wanted].every((sid) => streamed().has(sid) && polled.has(sid)));
      polling = false;
      await poller;
      for (const session of sessions) expect(await accepted(session.access_token)).toBe(false);
    }, 120_000);

    // PostgreSQL alone holds the feed in PostgreSQL; Redis and SQLite publish atomically.
    if (combo.postgres && !combo.redis)
      it("high 2: a session ended in a transaction held open reaches the stream, a cursor reader and the verifier when it commits", async () => {
        const held = await signIn();
        const other = await signIn();
        const authorization = basic(credentials.clientId, credentials.clientSecret);
        let cursor = (
          (await (await fetch(`${cluster.origin}/auth/revocations`, { headers: { authorization } })).json()) as {
            cursor: string;
          }
        ).cursor;
        const client = new pg.Client({ connectionString: env.DATABASE_URL });
        await client.connect();
        cleanup.push(() => client.end().catch(() => {}));
        // A writer that ends a session and publishes it, and is slow to commit.
        await client.query("begin");
        await client.query("delete from sessions where id = $1", [sidOf(held.access_token)]);
        await client.query("insert into changes (kind, subject, at) values ('session_ended', $1, $2)", [
          sidOf(held.access_token),
          Date.now(),
        ]);
        // Meanwhile another session ends, and every reader moves past it.
        await post(instance(1), "/auth/logout", undefined, other.access_token);
        await refusedWithinASecond(other.access_token);
        const read = async () => {
          const page = (await (
            await fetch(`${cluster.origin}/auth/revocations?since=${encodeURIComponent(cursor)}`, {
              headers: { authorization },
            })
          ).json()) as { cursor: string; entries: { sid?: string }[] };
          cursor = page.cursor;
          return page.entries.map((e) => e.sid);
        };
        expect(await read()).toContain(sidOf(other.access_token));
        await new Promise((resolve) => setTimeout(resolve, 2500)); // past the follower's old 2 s gap wait
        expect(await accepted(held.access_token)).toBe(true);
        await client.query("commit");
        await refusedWithinASecond(held.access_token);
        expect(await read()).toContain(sidOf(held.access_token));
      }, 60_000);

    // A SQLite file cannot be cut from one process: test/http/revocation-hardening.test.ts
    // cuts its feed in-process instead.
    if (combo.postgres || combo.redis)
      it("high 1: a stream from an instance cut from its feed says stale; the verifier on it fails closed, then moves on", async () => {
        const onZero = createVerifier({
          issuer: cluster.origin,
          baseUrl: cluster.direct(0),
          credentials,
          pollIntervalMs: 200,
        });
        cleanup.push(() => onZero.close());
        await onZero.ready();
        const user = await signIn();
        expect(await onZero.verify(user.access_token)).toMatchObject({ kind: "user" });
        feedProxy?.cut();
        try {
          // Ended by the CLI, straight in the stores: instance 0 cannot hear of it.
          expect(
            (await runCli(["users", "disable", user.username], { ...env, PUBLIC_ORIGIN: cluster.origin })).code,
          ).toBe(0);
          await new Promise((resolve) => setTimeout(resolve, 7000)); // past both tolerances (5 s each way)
          for (let i = 0; i < 3; i++) {
            const outcome = await onZero.verify(user.access_token).then(
              () => "accepted",
              (error: unknown) => (error instanceof VerifyError ? error.statusCode : String(error)),
            );
            expect(outcome).not.toBe("accepted");
            await new Promise((resolve) => setTimeout(resolve, 500));
          }
          // A verifier through nginx is served by the healthy instances, where there are others.
          if (combo.instances > 1) await refusedWithinASecond(user.access_token);
        } finally {
          feedProxy?.restore();
        }
        await within(10_000, async () =>
          onZero.verify(user.access_token).then(
            () => false,
            (error: unknown) => error instanceof VerifyError && error.statusCode === 401,
          ),
        );
      }, 60_000);
  });
}

describeWith("nginx, PostgreSQL and Redis", NGINX !== null && postgresAvailable && redisAvailable)(
  "a service behind latchkey, through restarts (PostgreSQL + Redis, 3 instances)",
  () => {
    let cluster: Cluster;
    let env: Record<string, string>;
    let credentials: { clientId: string; clientSecret: string };
    let wipeRedis: () => Promise<void>;
    const verifiers: Verifier[] = [];
    const cleanup: (() => Promise<void> | void)[] = [];
    let n = 0;

    beforeAll(async () => {
      const schema = await freshSchema();
      cleanup.push(schema.drop);
      const { prefix, drop } = freshPrefix();
      cleanup.push(drop);
      wipeRedis = drop;
      env = { DATABASE_URL: schema.url, REDIS_URL, REDIS_KEY_PREFIX: prefix, LOG_LEVEL: "info" };
      cluster = await startCluster({ instances: 3, env });
      const created = JSON.parse(
        (await runCli(["services", "create", "reports", "--json"], { ...env, PUBLIC_ORIGIN: cluster.origin })).stdout,
      ) as { client_id: string; client_secret: string };
      credentials = { clientId: created.client_id, clientSecret: created.client_secret };
    }, 90_000);
    afterAll(async () => {
      for (const verifier of verifiers) verifier.close();
      await cluster?.stop();
      for (const step of cleanup.reverse()) await step();
    });

    const start = async () => {
      const verifier = createVerifier({ issuer: cluster.origin, credentials, pollIntervalMs: 200 });
      verifiers.push(verifier);
      await verifier.ready();
      return verifier;
    };
    const signIn = async () => {
      const username = `rst${process.pid % 1000}x${++n}`;
      const post = (path: string, body: unknown) =>
        fetch(`${cluster.origin}${path}`, {
          method: "POST",
          headers: { origin: cluster.origin, "content-type": "application/json" },
          body: JSON.stringify(body),
        });
      await post("/auth/register", { username, password: PASSWORD });
      return ((await (await post("/auth/token", { username, password: PASSWORD })).json()) as { access_token: string })
        .access_token;
    };
    const logout = (base: string, token: string) =>
      fetch(`${base}/auth/logout`, {
        method: "POST",
        headers: { origin: cluster.origin, authorization: `Bearer ${token}` },
      });
    const accepted = (verifier: Verifier, token: string): Promise<boolean> =>
      verifier.verify(token).then(
        () => true,
        (error: unknown) => {
          if (error instanceof VerifyError && error.statusCode === 401) return false;
          throw error;
        },
      );

    it("a service that restarts reads what ended while it was down", async () => {
      const first = await start();
      const token = await signIn();
      expect(await accepted(first, token)).toBe(true);
      first.close();
      await logout(cluster.direct(1), token);
      const second = await start();
      expect(await accepted(second, token)).toBe(false);
    }, 30_000);

    it("an instance killed and restarted: the service carries on, and misses nothing", async () => {
      const verifier = await start();
      const [a, b] = [await signIn(), await signIn()];
      cluster.instances[0]?.proc.kill("SIGKILL");
      await logout(cluster.direct(1), a);
      await within(1000, async () => !(await accepted(verifier, a)));
      await cluster.restart(0);
      await logout(cluster.direct(0), b);
      await within(1000, async () => !(await accepted(verifier, b)));
    }, 60_000);

    it("Redis losing its data: the feed says reset, and tokens from before are checked with latchkey", async () => {
      const verifier = await start();
      const before = await signIn();
      expect(await accepted(verifier, before)).toBe(true);
      // Redis restarted without persistence: its sessions, and the feed's history, are gone.
      await wipeRedis();
      await within(3000, async () => !(await accepted(verifier, before)));
      // A session opened after it is trusted again.
      let after = "";
      await within(5000, async () => {
        after = await signIn();
        return accepted(verifier, after);
      });
    }, 60_000);
  },
);
