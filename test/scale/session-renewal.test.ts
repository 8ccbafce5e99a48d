/**
 * Racing renewals across instances (issue 28), on every store combination: three
 * instances behind nginx on PostgreSQL + Redis and on PostgreSQL alone; one on SQLite +
 * Redis and on SQLite, where the two racing requests go to the one instance. Servers renew
 * a session's secret every 2 s with a 1 s grace (`SESSION_IDLE_TIMEOUT=10` makes the write
 * of use due every second), under `hybrid`, so the session also has an access cookie a
 * `latchkey/verify` service can check. The same old session cookie sent at once to two
 * instances: exactly one answer renews it, both succeed. Past the grace the old cookie is
 * a 401 that says why, the session is over on every instance, the service refuses its
 * access token within a second, and the owner's security log tells of it.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { SESSION_REUSE_MESSAGE } from "../../packages/latchkey/src/core/session-manager.js";
import { createVerifier, type Verifier, VerifyError } from "../../packages/verify/src/index.js";
import { type Cluster, NGINX, startCluster } from "../helpers/cluster.js";
import { freshSchema, postgresAvailable } from "../helpers/postgres.js";
import { runCli, within } from "../helpers/processes.js";
import { freshPrefix, REDIS_URL, redisAvailable } from "../helpers/redis.js";
import { describeWith } from "../helpers/services.js";

const PASSWORD = "correct horse battery staple";
const SID = "__Host-sid";
const AT = "__Host-at";
/** Sessions raced at once, each by two requests. */
const SESSIONS = 4;

const COMBINATIONS = [
  { name: "PostgreSQL + Redis, 3 instances", postgres: true, redis: true, instances: 3 },
  { name: "PostgreSQL, 3 instances", postgres: true, redis: false, instances: 3 },
  { name: "SQLite + Redis, 1 instance", postgres: false, redis: true, instances: 1 },
  { name: "SQLite, 1 instance", postgres: false, redis: false, instances: 1 },
] as const;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The value of cookie `name` among an answer's `Set-Cookie` lines, if set. */
function cookieSet(response: Response, name: string): string | undefined {
  const line = response.headers.getSetCookie().find((l) => l.startsWith(`${name}=`));
  return line?.split(";")[0]?.slice(name.length + 1);
}

for (const combo of COMBINATIONS) {
  const needs = ["nginx", combo.postgres && "PostgreSQL", combo.redis && "Redis"].filter(Boolean).join(", ");
  const available = NGINX !== null && (!combo.postgres || postgresAvailable) && (!combo.redis || redisAvailable);

  describeWith(needs, available)(`session secrets that renew, across instances: ${combo.name}`, () => {
    let cluster: Cluster;
    let verifier: Verifier;
    const cleanup: (() => Promise<void> | void)[] = [];
    let n = 0;

    beforeAll(async () => {
      const dir = mkdtempSync(join(tmpdir(), "latchkey-renewal-"));
      cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
      const env: Record<string, string> = {
        DATABASE_URL: `sqlite:${join(dir, "db.sqlite")}`,
        LOG_LEVEL: "info",
        AUTH_STRATEGY: "hybrid",
        SESSION_ROTATE_INTERVAL: "2",
        SESSION_ROTATE_GRACE: "1",
        // No setting of its own: the write of use comes every tenth of the idle timeout.
        SESSION_IDLE_TIMEOUT: "10",
      };
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
      const created = await runCli(["services", "create", "reports", "--json"], {
        ...env,
        PUBLIC_ORIGIN: cluster.origin,
      });
      expect([created.code, created.stderr]).toEqual([0, ""]);
      const { client_id, client_secret } = JSON.parse(created.stdout) as { client_id: string; client_secret: string };
      verifier = createVerifier({
        issuer: cluster.origin,
        credentials: { clientId: client_id, clientSecret: client_secret },
        pollIntervalMs: 200,
      });
      await verifier.ready();
    }, 90_000);
    afterAll(async () => {
      verifier?.close();
      await cluster?.stop();
      for (const step of cleanup.reverse()) await step();
    });

    const post = (path: string, body: unknown, cookie?: string) =>
      fetch(`${cluster.origin}${path}`, {
        method: "POST",
        headers: { origin: cluster.origin, "content-type": "application/json", ...(cookie && { cookie }) },
        body: JSON.stringify(body),
      });
    /** `GET path` on instance `i` (bypassing nginx) with these cookies. */
    const get = (i: number, path: string, cookies: Record<string, string>) =>
      fetch(`${cluster.direct(i % combo.instances)}${path}`, {
        headers: {
          cookie: Object.entries(cookies)
            .map(([k, v]) => `${k}=${v}`)
            .join("; "),
        },
      });
    /** What the service says of a token: "accepted", or the refusal's reason. */
    const verdict = (token: string): Promise<string> =>
      verifier.verify(token).then(
        () => "accepted",
        (error: unknown) => {
          if (error instanceof VerifyError && error.statusCode === 401) return error.reason;
          throw error;
        },
      );
    /** A cookie login (through nginx): the user's name and the session cookie. */
    const logIn = async () => {
      const username = `renew${process.pid % 1000}x${++n}`;
      expect((await post("/auth/register", { username, password: PASSWORD })).status).toBe(201);
      const login = await post("/auth/login", { username, password: PASSWORD });
      expect(login.status).toBe(200);
      const sid = cookieSet(login, SID);
      expect(sid).toBeDefined();
      return {
        username,
        sid: sid as string,
        sessionId: ((await login.json()) as { session: { id: string } }).session.id,
      };
    };

    it("the old cookie at two instances at once: exactly one renews, both succeed; past the grace it ends the session everywhere, and the service refuses its token within a second", async () => {
      const logins = await Promise.all([...Array(SESSIONS).keys()].map(() => logIn()));
      await sleep(2200); // past SESSION_ROTATE_INTERVAL, and the write of use due

      // Each session's old cookie (alone: no access cookie, so hybrid reads the session)
      // at instances k and k + 1 at the same moment.
      const raced = await Promise.all(
        logins.map(async ({ sid }, k) => {
          const answers = await Promise.all([k, k + 1].map((i) => get(i, "/auth/me", { [SID]: sid })));
          return answers.map((response) => ({
            status: response.status,
            sid: cookieSet(response, SID),
            at: cookieSet(response, AT),
          }));
        }),
      );
      for (const answers of raced) {
        expect(answers.map((a) => a.status)).toEqual([200, 200]);
        expect(answers.filter((a) => a.sid !== undefined)).toHaveLength(1);
        for (const a of answers) expect(a.at).toBeDefined();
      }
      const renewed = raced.map((answers) => answers.find((a) => a.sid !== undefined)?.sid as string);
      const tokens = raced.flatMap((answers) => answers.map((a) => a.at as string));
      // The winners' cookies are the sessions now, on every instance.
      for (const [k, sid] of renewed.entries()) {
        for (let i = 0; i < combo.instances; i++) {
          const me = await get(i + k, "/auth/me", { [SID]: sid });
          expect([me.status, cookieSet(me, SID)]).toEqual([200, undefined]);
        }
      }
      for (const token of tokens) await within(1000, async () => (await verdict(token)) === "accepted");

      await sleep(1200); // past SESSION_ROTATE_GRACE
      const refused = await Promise.all(logins.map(({ sid }, k) => get(k, "/auth/me", { [SID]: sid })));
      for (const response of refused) {
        expect([response.status, ((await response.json()) as { error: { message: string } }).error.message]).toEqual([
          401,
          SESSION_REUSE_MESSAGE,
        ]);
      }
      // Within a second: the service refuses every access token of the ended sessions, and
      // every instance refuses their renewed session cookies and their access cookies.
      const took = await Promise.all([
        ...tokens.map((token) => within(1000, async () => (await verdict(token)) === "revoked")),
        ...renewed.flatMap((sid, k) =>
          [...Array(combo.instances).keys()].map((i) =>
            within(1000, async () => (await get(i + k, "/auth/me", { [SID]: sid })).status === 401),
          ),
        ),
        ...tokens.flatMap((token) =>
          [...Array(combo.instances).keys()].map((i) =>
            within(1000, async () => (await get(i, "/auth/me", { [AT]: token })).status === 401),
          ),
        ),
      ]);
      for (const ms of took) expect(ms).toBeLessThan(1000);

      // The owner, signing in again, reads why.
      const [first] = logins;
      const again = await post("/auth/login", { username: first?.username, password: PASSWORD });
      const events = (await (
        await fetch(`${cluster.origin}/auth/events`, { headers: { cookie: `${SID}=${cookieSet(again, SID)}` } })
      ).json()) as { events: { type: string; sessionId?: string }[] };
      expect(events.events.filter((e) => e.type === "session_reuse_detected")).toEqual([
        expect.objectContaining({ sessionId: first?.sessionId }),
      ]);
    }, 60_000);
  });
}
