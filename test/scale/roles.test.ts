/**
 * A demotion that reaches everyone (issue 27): on every store combination (three instances
 * behind nginx on PostgreSQL + Redis and on PostgreSQL alone; one on SQLite + Redis and on
 * SQLite), an operator makes a user an admin with the CLI and demotes them again. The CLI is
 * a process of its own, so every instance and the `@latchkey/verify` service learn of the
 * change through the change feed only. Within one second of the demotion the service
 * refuses the admin's token and every instance refuses it too; a refresh gives a token with
 * the new roles, which passes but not where `admin` is needed; the revocation feed tells a
 * reader `roles_changed`.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { PRODUCT_ACCESS } from "../../packages/server/src/app/auth-options.js";
import { createVerifier, protect, type Verifier, VerifyError } from "../../packages/verify/src/index.js";
import { type Cluster, NGINX, startCluster } from "../helpers/cluster.js";
import { freshSchema, postgresAvailable } from "../helpers/postgres.js";
import { runCli, within } from "../helpers/processes.js";
import { freshPrefix, REDIS_URL, redisAvailable } from "../helpers/redis.js";
import { describeWith } from "../helpers/services.js";
import { basic } from "../helpers/sse.js";

const PASSWORD = "correct horse battery staple";

const COMBINATIONS = [
  { name: "PostgreSQL + Redis, 3 instances", postgres: true, redis: true, instances: 3 },
  { name: "PostgreSQL, 3 instances", postgres: true, redis: false, instances: 3 },
  { name: "SQLite + Redis, 1 instance", postgres: false, redis: true, instances: 1 },
  { name: "SQLite, 1 instance", postgres: false, redis: false, instances: 1 },
] as const;

interface Tokens {
  access_token: string;
  refresh_token: string;
}

interface FeedEntry {
  type: string;
  sub?: string;
  roles_at?: number;
  at: number;
  until?: number;
}

const claimsOf = (token: string) =>
  JSON.parse(Buffer.from(token.split(".")[1] as string, "base64url").toString()) as {
    sub: string;
    roles: string[];
    roles_at: number;
  };

for (const combo of COMBINATIONS) {
  const needs = ["nginx", combo.postgres && "PostgreSQL", combo.redis && "Redis"].filter(Boolean).join(", ");
  const available = NGINX !== null && (!combo.postgres || postgresAvailable) && (!combo.redis || redisAvailable);

  describeWith(needs, available)(`role changes across latchkey and a service: ${combo.name}`, () => {
    let cluster: Cluster;
    let env: Record<string, string>;
    let verifier: Verifier;
    let authorization: string;
    const cleanup: (() => Promise<void> | void)[] = [];
    let n = 0;

    const cli = (...args: string[]) => runCli(args, { ...env, PUBLIC_ORIGIN: cluster.origin });
    const post = (base: string, path: string, body: unknown) =>
      fetch(`${base}${path}`, {
        method: "POST",
        headers: { origin: cluster.origin, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    /** A new user (through nginx): its name. */
    const register = async () => {
      const username = `role${process.pid % 1000}x${++n}`;
      expect((await post(cluster.origin, "/auth/register", { username, password: PASSWORD })).status).toBe(201);
      return username;
    };
    const signIn = async (username: string) =>
      (await (await post(cluster.origin, "/auth/token", { username, password: PASSWORD })).json()) as Tokens;
    const setRoles = async (username: string, ...roles: string[]) => {
      const result = await cli("users", "role", username, ...roles);
      expect([result.code, result.stderr]).toEqual([0, ""]);
    };
    /** What the service says of a token: "accepted", or the refusal's reason. */
    const verdict = (token: string): Promise<string> =>
      verifier.verify(token).then(
        () => "accepted",
        (error: unknown) => {
          if (error instanceof VerifyError && error.statusCode === 401) return error.reason;
          throw error;
        },
      );
    /** The status a route of the service that needs `admin` answers the token with. */
    const adminRoute = async (token: string) => {
      const request = new Request("http://service.test/admin/reports", {
        headers: { authorization: `Bearer ${token}` },
      });
      return (await protect(verifier, request, () => new Response("ok"), { role: "admin" })).status;
    };
    const me = async (i: number, token: string) =>
      (await fetch(`${cluster.direct(i)}/auth/me`, { headers: { authorization: `Bearer ${token}` } })).status;
    const everyInstance = [...Array(combo.instances).keys()];
    /** The revocation feed's cursor now, and the entries after a cursor. */
    const feedCursor = async () =>
      (
        (await (await fetch(`${cluster.origin}/auth/revocations`, { headers: { authorization } })).json()) as {
          cursor: string;
        }
      ).cursor;
    const feedSince = async (cursor: string): Promise<FeedEntry[]> => {
      const entries: FeedEntry[] = [];
      for (let more = true; more; ) {
        const page = (await (
          await fetch(`${cluster.origin}/auth/revocations?since=${encodeURIComponent(cursor)}`, {
            headers: { authorization },
          })
        ).json()) as { cursor: string; entries: FeedEntry[]; more: boolean };
        entries.push(...page.entries);
        cursor = page.cursor;
        more = page.more;
      }
      return entries;
    };

    beforeAll(async () => {
      const dir = mkdtempSync(join(tmpdir(), "latchkey-roles-"));
      cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
      env = { DATABASE_URL: `sqlite:${join(dir, "db.sqlite")}`, LOG_LEVEL: "info" };
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
      cluster = await startCluster({ instances: combo.instances, env });
      const created = await cli("services", "create", "reports", "--json");
      expect(created.code).toBe(0);
      const { client_id, client_secret } = JSON.parse(created.stdout) as { client_id: string; client_secret: string };
      authorization = basic(client_id, client_secret);
      // The service knows the deployment's roles, as its operator would configure it.
      verifier = createVerifier({
        issuer: cluster.origin,
        credentials: { clientId: client_id, clientSecret: client_secret },
        pollIntervalMs: 200,
        roles: PRODUCT_ACCESS.roles,
      });
      await verifier.ready();
      // Another admin, so the one under test is never the last (whose demotion is refused).
      await setRoles(await register(), "admin");
    }, 90_000);
    afterAll(async () => {
      verifier?.close();
      await cluster?.stop();
      for (const step of cleanup.reverse()) await step();
    });

    it("a demotion by the CLI: within a second the service and every instance refuse the admin's token; a refresh gives the new roles", async () => {
      const username = await register();
      const before = await signIn(username);
      const userId = claimsOf(before.access_token).sub;
      expect(await adminRoute(before.access_token)).toBe(403);

      // Promoted by the CLI: the token from before speaks for roles the user no longer has.
      await setRoles(username, "admin", "user");
      await within(1000, async () => (await verdict(before.access_token)) === "revoked");
      const admin = await signIn(username);
      expect(claimsOf(admin.access_token).roles).toEqual(["admin", "user"]);
      await within(1000, async () => (await verdict(admin.access_token)) === "accepted");
      expect(await adminRoute(admin.access_token)).toBe(200);
      const verified = await verifier.verify(admin.access_token);
      expect(verified).toMatchObject({ kind: "user", userId, roles: ["admin", "user"] });
      expect(verifier.can(verified, "todos:read-any")).toBe(true);
      for (const i of everyInstance) expect(await me(i, admin.access_token)).toBe(200);

      // Demoted by the CLI: measured from the moment the command has finished.
      const cursor = await feedCursor();
      await setRoles(username, "user");
      const [service, ...instances] = await Promise.all([
        within(1000, async () => (await verdict(admin.access_token)) === "revoked"),
        ...everyInstance.map((i) => within(1000, async () => (await me(i, admin.access_token)) === 401)),
      ]);
      for (const took of [service, ...instances]) expect(took).toBeLessThan(1000);
      await expect(verifier.verify(admin.access_token)).rejects.toMatchObject({ reason: "revoked", statusCode: 401 });

      // The client refreshes (on the last instance) and gets the new roles: accepted, but not as an admin.
      const refreshed = await post(cluster.direct(combo.instances - 1), "/auth/refresh", {
        refresh_token: admin.refresh_token,
      });
      expect(refreshed.status).toBe(200);
      const after = ((await refreshed.json()) as Tokens).access_token;
      const claims = claimsOf(after);
      expect(claims.roles).toEqual(["user"]);
      expect(await verdict(after)).toBe("accepted");
      expect(verifier.can(await verifier.verify(after), "todos:read-any")).toBe(false);
      expect(await adminRoute(after)).toBe(403);
      for (const i of everyInstance) expect(await me(i, after)).toBe(200);

      // A reader of the revocation feed is told, with the exact time the roles changed.
      const told = (await feedSince(cursor)).filter((e) => e.type === "roles_changed" && e.sub === userId);
      expect(told).toEqual([
        {
          type: "roles_changed",
          sub: userId,
          roles_at: claims.roles_at,
          at: Math.floor(claims.roles_at / 1000),
          until: expect.any(Number),
        },
      ]);
      expect(told[0]?.until).toBeGreaterThan(told[0]?.at as number);
      expect(claims.roles_at).toBeGreaterThan(claimsOf(admin.access_token).roles_at);
    }, 60_000);
  });
}
